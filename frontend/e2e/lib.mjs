// Helpers for the end-to-end tests: a Chromium from Debian driven by playwright-core.
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
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

/** Saves e2e/screenshots/<name>-<width>.png (gitignored; see the README). */
export async function screenshot(page, name) {
  const width = page.viewportSize()?.width ?? 0;
  // A page taller than a few screens (a long log) is shot as the reader first sees it.
  const tall = await page.evaluate(() => document.documentElement.scrollHeight > 8 * window.innerHeight);
  await page.screenshot({ path: `${SCREENSHOTS}${name}-${width}.png`, fullPage: !tall });
}

export const VIEWPORTS = [
  { width: 1440, height: 900 },
  { width: 390, height: 844 },
];

const axeSource = readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Every impact axe-core gives a violation, for pages checked to the last minor one. */
export const AXE_ALL_IMPACTS = ['critical', 'serious', 'moderate', 'minor'];

/** Runs axe-core in the page; returns its violations of the given impacts (by default critical, serious and moderate: heading-order, a moderate one, once slipped through), ids and where. */
export async function axeViolations(page, impacts = ['critical', 'serious', 'moderate']) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: await axeSource });
  const violations = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations);
  return violations
    .filter((v) => impacts.includes(v.impact))
    .map((v) => `${v.impact} ${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}

/** How far the page is wider than the viewport (0 when nothing overflows), and what sticks out. */
export function horizontalOverflow(page) {
  return page.evaluate(() => {
    const width = window.innerWidth;
    const over = document.documentElement.scrollWidth - width;
    const culprits = [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > width + 0.5 && e.getClientRects().length > 0)
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}.${e.className}`);
    return { over, culprits };
  });
}

/** Opens the New run dialog unless it is open. */
export async function openNewRun(page) {
  const dialog = page.getByRole('dialog', { name: 'New run' });
  if (!(await dialog.isVisible())) await page.getByRole('button', { name: 'New run', exact: true }).click();
  await dialog.waitFor();
  return dialog;
}

/** Fills and submits the New run form; returns the new run id from the toast that follows it. */
export async function startRunFromForm(page, { username, environmentId, files }) {
  await openNewRun(page);
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

/** Clicks "Start run" (opening the dialog if needed) and reads the new run's id from the toast. */
export async function submitNewRun(page) {
  await openNewRun(page);
  // The toast's run id is read in the page in one go: a count() then a getAttribute() could straddle a render.
  const before = await page.evaluate(() => document.querySelector('[data-testid="run-toast"]')?.getAttribute('data-run-id') ?? null);
  await page.getByRole('form', { name: 'New run' }).getByRole('button', { name: 'Start run' }).click();
  // Until the default timeout, however slow the POST: a fixed count of short waits gave up early on a loaded machine.
  const handle = await page.waitForFunction((prev) => {
    const id = document.querySelector('[data-testid="run-toast"]')?.getAttribute('data-run-id') ?? null;
    return id !== null && id !== prev ? id : null;
  }, before);
  const id = await handle.jsonValue();
  const n = Number(id);
  if (!Number.isSafeInteger(n)) throw new Error(`no new run toast (saw ${id})`);
  // The dialog closes in an effect after the render that showed the toast: until it has, a caller's
  // openNewRun would find it still open, skip the click, and then lose it under its next action.
  await page.getByRole('dialog', { name: 'New run' }).waitFor({ state: 'hidden' });
  return n;
}

/**
 * Polls check (an async function returning a truthy value when the state is reached) until it holds,
 * and returns its value; fails after timeoutMs with what. For state that arrives later (a poll, an
 * effect), where a single snapshot read would race it.
 */
export async function waitUntil(check, what, { timeoutMs = 30_000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Holds an environment through the API, until released: runs on it wait in line, however fast they would have run. */
export function apiHold(environmentId, heldBy, reason) {
  return api(`/api/environments/${environmentId}/hold`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ held_by: heldBy, reason }),
  });
}

/** Releases an environment's hold through the API. */
export function apiRelease(environmentId) {
  return api(`/api/environments/${environmentId}/hold`, { method: 'DELETE' });
}

/** Uploads a file (path on disk) into directory through the API, as curl would. */
export async function apiUpload(path, directory) {
  const form = new FormData();
  const name = path.split('/').at(-1);
  form.append('file', new Blob([await readFile(path)]), name);
  form.append('directory', directory);
  return api('/api/test-files', { method: 'POST', body: form });
}

/** Starts a run through the API. */
export function apiRun(body) {
  return api('/api/runs', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

/** Waits until a run is final, through the API. */
export async function apiWaitFinal(id, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await api(`/api/runs/${id}`);
    if (!['queued', 'running'].includes(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run #${id} still ${run.status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The stored log of a run, read page after page through the API. */
export async function apiLog(id) {
  let text = '';
  let offset = 0;
  for (;;) {
    const page = await api(`/api/runs/${id}/log?offset=${offset}`);
    text += page.text;
    offset = page.next_offset;
    if (page.complete || page.text === '') return text;
  }
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
