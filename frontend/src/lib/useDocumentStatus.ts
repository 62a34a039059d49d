import { useEffect } from 'react';

const DEFAULT_TITLE = 'Baton';

function faviconLink(): HTMLLinkElement {
  let link = document.querySelector<HTMLLinkElement>('link[rel="icon"]');
  if (!link) {
    link = document.createElement('link');
    link.rel = 'icon';
    document.head.appendChild(link);
  }
  return link;
}

/** The status colour from the design tokens (styles.css), so the favicon matches the badge. */
function tokenColour(status: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(`--status-${status}-fg`).trim();
  return value || getComputedStyle(document.documentElement).getPropertyValue('--primary').trim();
}

/** A round favicon in the status colour; a ring while the run is still going. */
export function statusFavicon(status: string, colour: string): string {
  const live = status === 'queued' || status === 'running';
  const shape = live
    ? `<circle cx="8" cy="8" r="5.5" fill="none" stroke="${colour}" stroke-width="3"/>`
    : `<circle cx="8" cy="8" r="7" fill="${colour}"/>`;
  return `data:image/svg+xml,${encodeURIComponent(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">${shape}</svg>`)}`;
}

/**
 * Puts a page's subject in the tab: "✓ #42 success · Baton", and the run's status
 * as the favicon, so a background tab tells how the run went. Restores both on unmount.
 */
export function useDocumentStatus(title: string | null, status?: string): void {
  useEffect(() => {
    document.title = title ? `${title} · ${DEFAULT_TITLE}` : DEFAULT_TITLE;
  }, [title]);
  useEffect(() => () => void (document.title = DEFAULT_TITLE), []);
  useEffect(() => {
    if (!status) return;
    const link = faviconLink();
    const original = link.href;
    link.href = statusFavicon(status, tokenColour(status));
    return () => {
      link.href = original;
    };
  }, [status]);
}
