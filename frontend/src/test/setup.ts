import '@testing-library/jest-dom/vitest';
import { cleanup, configure } from '@testing-library/react';
import { afterEach } from 'vitest';
import { reportApiHealth } from '../api/status';

// Role queries over 100 options/tiles are slow in jsdom on a 2-core machine, and a loaded one is
// slower still (with every core busy the suite took 373 s instead of 47 s, the run log's file 39 s
// instead of 3.4 s, and its first find ran out of 4 s): a generous limit costs a passing test
// nothing, it only bounds a failing one.
configure({ asyncUtilTimeout: 15_000 });

afterEach(() => {
  cleanup();
  reportApiHealth('ok');
  window.localStorage.clear();
});

// jsdom does not scroll: make window.scrollTo move scrollY and fire "scroll", as a browser does.
window.scrollTo = ((xOrOptions?: number | ScrollToOptions, y?: number) => {
  const top = typeof xOrOptions === 'object' ? (xOrOptions.top ?? window.scrollY) : (y ?? window.scrollY);
  Object.defineProperty(window, 'scrollY', { configurable: true, value: Math.max(0, top) });
  window.dispatchEvent(new Event('scroll'));
}) as typeof window.scrollTo;

// jsdom has no layout: give log rows the height a browser gives them, so the
// virtualised log places them as it does on screen.
const realOffsetHeight = Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'offsetHeight')!;
Object.defineProperty(HTMLElement.prototype, 'offsetHeight', {
  configurable: true,
  get(this: HTMLElement) {
    return this.classList.contains('log__row') ? 20 : realOffsetHeight.get!.call(this);
  },
});

afterEach(() => {
  window.scrollTo(0, 0);
});

// ...and the page as tall as the log list in it (the virtualiser clamps its scrolling to it).
Object.defineProperty(document.documentElement, 'scrollHeight', {
  configurable: true,
  get: () => (parseFloat(document.querySelector<HTMLElement>('.log__lines')?.style.height ?? '') || 0) + window.innerHeight,
});
