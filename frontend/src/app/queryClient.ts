import { QueryClient } from '@tanstack/react-query';
import { ApiError } from '../api/errors';

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // A 4xx will not fix itself; anything else gets one quick retry before the
        // query shows an error (polling keeps trying anyway, and the banner says why).
        retry: (failureCount, error) => !(error instanceof ApiError && error.isClientError) && failureCount < 1,
        retryDelay: 500,
        refetchOnWindowFocus: true,
      },
      mutations: { retry: false },
    },
  });
}
