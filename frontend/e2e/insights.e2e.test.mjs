// Browser checks of the insights pages (test history, tests, environment
// insights) against a running Baton, charts included, each page axe-clean
// at desktop and phone widths.
//   BATON_URL=http://localhost:8080 npm run e2e
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AXE_ALL_IMPACTS, apiRun, apiWaitFinal, assertBatonUp, axeViolations, launch, randomEnvironment, randomTag, screenshot } from './lib.mjs';

const TEST_TIMEOUT = 240_000;
const tag = randomTag();
let browser;
let context;

before(async () => {
  await assertBatonUp();
  ({ browser, context } = await launch());
});

after(async () => {
  await browser?.close();
});

/** Fails with the page's axe-core violations of any impact, if any. */
async function assertAxeClean(page, what) {
  assert.deepEqual(await axeViolations(page, AXE_ALL_IMPACTS), [], `axe violations on ${what}`);
}

/** Starts a run of files on env and waits for it to end. */
async function runToEnd(env, files) {
  const run = await apiRun({ requested_by: `e2e-${tag}`, environment_id: env, test_files: files });
  return apiWaitFinal(run.id);
}

/** Waits until the run_ended job has put the run's results into the test's history. */
async function historyHas(nodeId, runId) {
  for (let i = 0; i < 150; i++) {
    const res = await fetch(`${process.env.BATON_URL ?? 'http://localhost:8080'}/api/tests/history?node_id=${encodeURIComponent(nodeId)}`);
    if (res.ok) {
      const h = await res.json();
      if (h.stats && h.stats.last_run_id >= runId) return h;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the history of ${nodeId} never showed run ${runId}`);
}

describe('Insights UI', { concurrency: false }, () => {
  const env = randomEnvironment();
  const node = 'sample-tests/test_success.py::test_addition';
  let runs = [];

  test('a test result links to its history: strip, duration chart, every run', { timeout: TEST_TIMEOUT }, async () => {
    for (let i = 0; i < 3; i++) runs.push(await runToEnd(env, ['sample-tests/test_success.py', 'sample-tests/test_failure.py']));
    const last = runs.at(-1);
    const h = await historyHas(node, last.id);
    assert.ok(h.items.length >= 3);
    assert.match(h.items[0].content_hash ?? '', /^[0-9a-f]{16}$/, 'the worker hashed the test file when the run started');
    assert.ok(h.items.slice(0, 3).every((e) => e.content_hash === h.items[0].content_hash), 'the same file, the same content');

    const page = await context.newPage();
    await page.goto(`/runs/${last.id}`);
    const link = page.getByRole('link', { name: node, exact: true });
    await link.waitFor();
    await link.click();
    await page.waitForURL((url) => url.pathname === '/tests/history' && url.searchParams.get('node_id') === node);
    await page.getByRole('heading', { name: node }).waitFor();
    const strip = page.getByRole('list', { name: /The last \d+ results, oldest first/ });
    await strip.waitFor();
    assert.ok((await strip.getByRole('link').count()) >= 3);
    assert.equal(await strip.getByRole('link').last().getAttribute('href'), `/runs/${last.id}`);
    const chart = page.getByTestId('duration-chart');
    // A flat line (every run took the same time, as a trivial test's often do) has a
    // zero-height box, which Playwright calls hidden: wait for it in the DOM and check
    // that it joins one point per run instead.
    const curve = chart.locator('svg path.recharts-curve').first();
    await curve.waitFor({ state: 'attached' });
    const d = (await curve.getAttribute('d')) ?? '';
    assert.ok((d.match(/[CL]/g) ?? []).length >= 2, `the duration line joins at least 3 runs: ${d.slice(0, 80)}`);
    const rows = page.getByRole('table', { name: 'Results of this test, newest first' }).getByRole('row');
    assert.ok((await rows.count()) >= 4);
    assert.match((await rows.nth(1).textContent()) ?? '', new RegExp(`#${last.id}.*passed.*env${env}`));
    await screenshot(page, 'test-history');
    await assertAxeClean(page, 'the test history page');
    await page.setViewportSize({ width: 390, height: 844 });
    await assertAxeClean(page, 'the test history page at phone width');
    await screenshot(page, 'test-history-phone');
    await page.close();
  });

  test('the tests page lists the flaky and the slowest tests', { timeout: TEST_TIMEOUT }, async () => {
    const page = await context.newPage();
    await page.goto('/');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tests' }).click();
    await page.getByRole('heading', { name: 'Flaky tests' }).waitFor();
    const slowest = page.getByRole('table', { name: 'Slowest tests by median duration' });
    await slowest.waitFor();
    assert.ok((await slowest.getByRole('row').count()) >= 2, 'the tests that ran are listed');
    await page.getByText(/No flaky tests|Flaky tests by flip rate/).first().waitFor();
    await screenshot(page, 'tests');
    await assertAxeClean(page, 'the tests page');
    await page.setViewportSize({ width: 390, height: 844 });
    await assertAxeClean(page, 'the tests page at phone width');
    await page.close();
  });

  test('environment insights chart where runs wait', { timeout: TEST_TIMEOUT }, async () => {
    const page = await context.newPage();
    await page.goto('/insights');
    await page.getByRole('heading', { name: 'Environment use' }).waitFor();
    await page.getByTestId('contention-chart').locator('svg .recharts-scatter-symbol').first().waitFor();
    await page.getByTestId('hours-chart').locator('svg .recharts-bar-rectangle').first().waitFor();
    const table = page.getByRole('table', { name: 'Environments by average queue length' });
    await table.locator(`tr[data-env-id="${env}"]`).waitFor();
    await page.locator('#insights-window').selectOption('24h');
    await table.locator(`tr[data-env-id="${env}"]`).waitFor();
    await screenshot(page, 'insights');
    await assertAxeClean(page, 'the insights page');
    await page.setViewportSize({ width: 390, height: 844 });
    await assertAxeClean(page, 'the insights page at phone width');
    await screenshot(page, 'insights-phone');
    await page.close();
  });
});
