// Pools and holds through the UI, against a running Baton (see .ci/e2e.sh):
// label an environment, start a run on its pool, hold the environment and watch
// a run wait for the hold (who and until when), release it and watch the run start;
// axe-core on the pages involved at desktop and phone widths.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  VIEWPORTS,
  api,
  apiWaitFinal,
  assertBatonUp,
  axeViolations,
  horizontalOverflow,
  launch,
  openNewRun,
  randomEnvironment,
  randomTag,
  runRow,
  screenshot,
  submitNewRun,
} from './lib.mjs';

const TEST_TIMEOUT = 240_000;
const tag = randomTag();
// A label is a lower-case letter, then letters, digits or '-': a pool of its own for this run of the suite.
const pool = `e2e-${tag}`;
let browser;
let context;

before(async () => {
  await assertBatonUp();
  ({ browser, context } = await launch());
});

after(async () => {
  await browser?.close();
});

/** Axe and overflow on the page as it is now, at the page's viewport. */
async function checkPage(page, name) {
  const width = page.viewportSize()?.width;
  const { over, culprits } = await horizontalOverflow(page);
  assert.equal(over, 0, `${name} at ${width}px overflows by ${over}px: ${culprits.join(', ')}`);
  assert.deepEqual(await axeViolations(page), [], `${name} at ${width}px`);
  await screenshot(page, name);
}

/** Starts a run on the pool from the New run form (on the runs page); returns its id. */
async function startPoolRun(page, user) {
  await page.goto('/');
  const dialog = await openNewRun(page);
  await dialog.locator('#new-run-username').fill(user);
  await dialog.getByRole('radio', { name: 'Any environment of a pool' }).check();
  await dialog.locator(`#new-run-pool option[value="${pool}"]`).waitFor({ state: 'attached' });
  await dialog.locator('#new-run-pool').selectOption(pool);
  const box = dialog.getByRole('checkbox', { name: 'sample-tests/test_success.py', exact: true });
  if (!(await box.isChecked())) await box.check();
  return submitNewRun(page);
}

describe('Pools and holds', { concurrency: false }, () => {
  test('label an environment, run on its pool, hold it, a run waits for the hold, release, the run starts', { timeout: TEST_TIMEOUT }, async () => {
    const page = await context.newPage();
    const envId = randomEnvironment();
    const user = `e2e-${tag}-pool`;

    // Label it (and give it a secret variable) from its page.
    await page.goto('/environments');
    await page.getByRole('link', { name: `Manage env${envId}`, exact: true }).click();
    await page.waitForURL(`**/environments/${envId}`);
    const form = page.getByRole('form', { name: `Edit env${envId}` });
    await form.getByLabel('Labels', { exact: true }).fill(`${pool} e2e`);
    await form.getByRole('button', { name: 'Add variable' }).click();
    const last = form.locator('.variables__row').last();
    await last.getByLabel(/^Name of variable/).fill('E2E_SECRET');
    await last.getByRole('checkbox', { name: /^Secret/ }).check();
    await last.getByLabel('Value of E2E_SECRET').fill(`s3cr3t-${tag}`);
    await form.getByRole('button', { name: 'Save changes' }).click();
    await form.getByRole('status').filter({ hasText: `Saved env${envId}.` }).waitFor();
    const stored = await api(`/api/environments/${envId}`);
    assert.deepEqual(stored.labels, [pool, 'e2e'].sort());
    assert.deepEqual(stored.variables.E2E_SECRET, { value: null, secret: true }, 'a secret is never returned');
    // Write-only in the form too: the saved secret's input is empty, its placeholder says it is kept.
    assert.equal(await form.getByLabel('Value of E2E_SECRET').inputValue(), '');
    assert.equal(await form.getByLabel('Value of E2E_SECRET').getAttribute('type'), 'password');

    // Its tile shows the label; the pool filter finds it.
    await page.goto(`/environments?pool=${pool}`);
    const tile = page.locator(`[data-env-id="${envId}"]`);
    await tile.getByRole('list', { name: 'Labels' }).filter({ hasText: pool }).waitFor();
    assert.equal(await page.locator('li.env-tile').count(), 1, 'the pool filter shows the pool only');

    // A run on the pool from the New run form: it gets this environment.
    const first = await startPoolRun(page, user);
    const done = await apiWaitFinal(first);
    assert.equal(done.status, 'success');
    assert.equal(done.pool, pool);
    assert.equal(done.environment_id, envId);
    await page.goto(`/runs/${first}`);
    await page.locator('[data-field="environment"]').filter({ hasText: `env${envId} (${pool})` }).waitFor();

    // Hold it from its page, until released.
    await page.goto(`/environments/${envId}`);
    const holdForm = page.getByRole('form', { name: `Hold env${envId}` });
    await holdForm.getByLabel('Held by').fill(user);
    await holdForm.getByLabel('Reason').fill('e2e: debugging the pool');
    await holdForm.getByRole('button', { name: `Hold env${envId}` }).click();
    const holdState = page.getByTestId('hold-state');
    await holdState.filter({ hasText: `Held by ${user} until released` }).waitFor();
    await holdState.filter({ hasText: 'e2e: debugging the pool' }).waitFor();
    for (const viewport of VIEWPORTS) {
      await page.setViewportSize(viewport);
      await checkPage(page, 'environment-held');
    }
    await page.setViewportSize(VIEWPORTS[0]);

    // A run on the pool now waits, and says for what: the hold, by whom, until when.
    const waiting = await startPoolRun(page, user);
    const row = runRow(page, waiting);
    await row.locator('.queue-note').filter({ hasText: `env${envId} is held by ${user} until released` }).waitFor();
    await page.goto(`/runs/${waiting}`);
    const why = page.locator('[data-field="waiting_for"]');
    // Who and until when come with the run; why it is held comes from the environment itself, a
    // second query that may answer before or after the run's: wait for the whole sentence, which
    // holds only once both are in (a check on the run's half alone with its full stop would race).
    await why
      .filter({ hasText: `Waits: env${envId} is held by ${user} until released (“e2e: debugging the pool”, see the hold).` })
      .waitFor();
    await why.filter({ hasText: 'No start time' }).waitFor();
    await page.locator('[data-field="environment"]').filter({ hasText: `any ${pool}` }).waitFor();
    const queued = await api(`/api/runs/${waiting}`);
    assert.equal(queued.status, 'queued', 'the run waits while the pool is held');
    for (const viewport of VIEWPORTS) {
      await page.setViewportSize(viewport);
      await why.waitFor();
      await checkPage(page, 'run-waiting-for-hold');
    }
    await page.setViewportSize(VIEWPORTS[0]);

    // Release: the run starts in the environment and the page follows it there.
    await page.goto(`/environments/${envId}`);
    await page.getByRole('button', { name: `Release env${envId}` }).click();
    await page.getByRole('form', { name: `Hold env${envId}` }).waitFor();
    await page.goto(`/runs/${waiting}`);
    await page.locator('[data-field="status"]').filter({ hasText: 'success' }).waitFor({ timeout: 120_000 });
    await page.locator('[data-field="environment"]').filter({ hasText: `env${envId} (${pool})` }).waitFor();
    assert.equal(await why.count(), 0, 'a started run no longer says what it waits for');
    const ran = await api(`/api/runs/${waiting}`);
    assert.equal(ran.environment_id, envId);
    await page.close();
  });

  test('the environments page, an environment and the pool form at 1440 and 390: no overflow, no serious axe violations', { timeout: TEST_TIMEOUT }, async () => {
    const envId = randomEnvironment();
    for (const viewport of VIEWPORTS) {
      const page = await context.newPage();
      await page.setViewportSize(viewport);
      await page.goto(`/environments?pool=${pool}`);
      await page.locator('li.env-tile').first().waitFor();
      await checkPage(page, 'environments-pool');
      await page.goto(`/environments/${envId}`);
      await page.getByRole('form', { name: `Edit env${envId}` }).waitFor();
      await checkPage(page, 'environment');
      await page.goto('/');
      const dialog = await openNewRun(page);
      await dialog.getByRole('radio', { name: 'Any environment of a pool' }).check();
      await dialog.locator(`#new-run-pool option[value="${pool}"]`).waitFor({ state: 'attached' });
      await checkPage(page, 'new-run-pool');
      await page.close();
    }
  });
});
