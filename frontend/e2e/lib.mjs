// Helpers for the end-to-end tests: a Chromium from Debian driven by playwright-core.
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const BATON_URL = (process.env.BATON_URL ?? 'http://localhost:8080').replace(/\/+$/, '');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));

/** A short random tag so runs, users, files and directories never clash between runs of the suite. */
export function randomTag() {
  return Math.random().toString(36).slice(2, 8);
}

/** A random environment id, away from 1..10 which people tend to use by hand. */
export function randomEnvironment() {
  return 11 + Math.floor(Math.random() * 90);
}

export async function launch() {
  await mkdir(SCREENSHOTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-quic',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, baseURL: BATON_URL });
  context.setDefaultTimeout(30_000);
  return { browser, context };
}

/** Fails fast with a clear message when no Baton is listening. */
export async function assertBatonUp() {
  let res;
  try {
    res = await fetch(`${BATON_URL}/api/health`);
  } catch (err) {
    throw new Error(`No Baton at ${BATON_URL} (${err.cause?.code ?? err.message}). Start one or set BATON_URL.`, { cause: err });
  }
  if (!res.ok) throw new Error(`Baton at ${BATON_URL} is not healthy: HTTP ${res.status} ${await res.text()}`);
  const index = await fetch(`${BATON_URL}/`);
  const html = await index.text();
  if (!html.includes('<div id="root">')) {
    throw new Error(`Baton at ${BATON_URL} does not serve the SPA at / (build it with npm run build; the server reads BATON_WEB_DIR).`);
  }
}

export async function api(path, init) {
  const res = await fetch(`${BATON_URL}${path}`, init);
  const body = await res.json();
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${path}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return body;
}

export async function screenshot(page, name) {
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });
}

/** Fills and submits the New run form; returns the new run id from the success message. */
export async function startRunFromForm(page, { username, environmentId, files }) {
  await page.locator('#new-run-username').fill(username);
  // Options carry their state ("env42 — idle"): wait until the environments loaded.
  await page.locator(`#new-run-environment option[value="${environmentId}"]`).waitFor({ state: 'attached' });
  await page.locator('#new-run-environment').selectOption(String(environmentId));
  for (const file of files) {
    const box = page.getByRole('checkbox', { name: file, exact: true });
    if (!(await box.isChecked())) await box.check();
  }
  return submitNewRun(page);
}

/** Clicks "Start run" and reads the new run's id from the success message. */
export async function submitNewRun(page) {
  const form = page.getByRole('form', { name: 'New run' });
  const before = await form.getByRole('status').allTextContents();
  await form.getByRole('button', { name: 'Start run' }).click();
  const status = form.getByRole('status').filter({ hasText: /Run #\d+/ });
  await status.waitFor();
  // Wait for a message different from the one before (a second click re-renders it).
  let text = '';
  for (let i = 0; i < 100; i++) {
    text = (await status.textContent()) ?? '';
    if (!before.includes(text)) break;
    await page.waitForTimeout(50);
  }
  const id = Number(/Run #(\d+)/.exec(text)?.[1]);
  if (!Number.isSafeInteger(id)) throw new Error(`no run id in "${text}"`);
  return id;
}

/** The runs table row of one run. */
const runRowSelector = (id) => `table.runs-table tr[data-run-id="${id}"]`;

export function runRow(page, id) {
  return page.locator(runRowSelector(id));
}

/**
 * Reads the status of several rows of the runs table in one go, inside the page, so all of them
 * come from the same render. Reading rows one by one can straddle a refresh and pair an old status
 * with a new one.
 */
export function runRowStatuses(page, ids) {
  return page.evaluate(
    (selectors) => selectors.map((sel) => document.querySelector(sel)?.getAttribute('data-status') ?? null),
    ids.map(runRowSelector),
  );
}

/** Waits until the run's row shows a final status; returns every status seen on the way. */
export async function watchRunInTable(page, id, { timeoutMs = 120_000 } = {}) {
  const row = runRow(page, id);
  await row.waitFor({ timeout: timeoutMs });
  const seen = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await row.getAttribute('data-status');
    if (status && seen.at(-1) !== status) seen.push(status);
    if (status && !['queued', 'running'].includes(status)) return seen;
    await page.waitForTimeout(100);
  }
  throw new Error(`run #${id} did not finish within ${timeoutMs} ms; statuses seen: ${seen.join(' → ')}`);
}

/** Filters the runs table to one user (the filter lives in the URL). */
export async function filterByUser(page, username) {
  await page.locator('#filter-username').fill(username);
  await page.locator('#filter-username').press('Enter');
  await page.waitForURL((url) => url.searchParams.get('requested_by') === username);
}
