/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The Go server serves dist/ at "/" with an SPA fallback, so assets use the absolute base "/".
// During `npm run dev`, /api is proxied to the Go server (override with BATON_API_PROXY).
export default defineConfig({
  base: '/',
  plugins: [react()],
  server: {
    proxy: {
      '/api': {
        target: process.env.BATON_API_PROXY ?? 'http://localhost:8080',
        changeOrigin: true,
      },
    },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['./src/test/setup.ts'],
    restoreMocks: true,
    unstubGlobals: true,
    // Above the 15 s find limit in src/test/setup.ts, with room for several finds on a loaded machine
    // (a test of 0.8 s idle ran past 20 s with every core busy).
    testTimeout: 60_000,
  },
});
