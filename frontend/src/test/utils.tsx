import type { ReactElement, ReactNode } from 'react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { vi } from 'vitest';
import type { Run } from '../api/types';

export function createTestQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: { queries: { retry: false, gcTime: Infinity }, mutations: { retry: false } },
  });
}

export function Providers({ children, client, route = '/' }: { children: ReactNode; client: QueryClient; route?: string }) {
  return (
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[route]}>{children}</MemoryRouter>
    </QueryClientProvider>
  );
}

export function renderWithProviders(ui: ReactElement, options: { route?: string; client?: QueryClient } = {}) {
  const client = options.client ?? createTestQueryClient();
  const wrapper = ({ children }: { children: ReactNode }) => (
    <Providers client={client} route={options.route}>
      {children}
    </Providers>
  );
  return { ...render(ui, { wrapper }), client };
}

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

export function apiError(status: number, code: string, message: string, fields?: Record<string, string>): Response {
  return json({ error: { code, message, ...(fields ? { fields } : {}) } }, status);
}

type Handler = (request: Request, url: URL) => Response | Promise<Response>;

/**
 * Stubs globalThis.fetch with a tiny router: keys are "METHOD /path".
 * Unknown routes answer 404 in the contract's error shape. Returns the mock and the
 * list of requests seen, for assertions.
 */
export function mockApi(routes: Record<string, Handler>) {
  const requests: { method: string; url: URL; request: Request }[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const url = new URL(request.url);
    requests.push({ method: request.method, url, request });
    const handler = routes[`${request.method} ${url.pathname}`];
    if (!handler) return apiError(404, 'not_found', `No mock for ${request.method} ${url.pathname}`);
    return handler(request, url);
  });
  vi.stubGlobal('fetch', fetchMock);
  return { fetchMock, requests };
}

export function makeRun(overrides: Partial<Run> = {}): Run {
  return {
    id: 1,
    requested_by: 'alice',
    environment_id: 7,
    pool: null,
    test_files: ['sample-tests/test_success.py'],
    tests: [],
    keyword: null,
    markers: null,
    status: 'success',
    queue_position: null,
    waiting_for: null,
    eta_seconds: null,
    exit_code: 0,
    reason: null,
    created_at: '2026-11-25T10:00:00Z',
    started_at: '2026-11-25T10:00:01Z',
    finished_at: '2026-11-25T10:00:03Z',
    fence: 1,
    duration_ms: 2000,
    progress: { completed: 1, total: 1 },
    summary: { passed: 1, failed: 0, errors: 0, skipped: 0, total: 1 },
    rerun_of: null,
    cancelled_by: null,
    ...overrides,
  };
}
