import '@testing-library/jest-dom/vitest';
import { cleanup, configure } from '@testing-library/react';
import { afterEach } from 'vitest';
import { reportApiHealth } from '../api/status';

// Role queries over 100 options/tiles are slow in jsdom on a 2-core machine.
configure({ asyncUtilTimeout: 4000 });

afterEach(() => {
  cleanup();
  reportApiHealth('ok');
  window.localStorage.clear();
});
