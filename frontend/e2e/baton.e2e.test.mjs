// End-to-end tests against a running Baton (API + SPA on one origin).
//   BATON_URL=http://localhost:8080 npm run e2e
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  api,
  assertBatonUp,
  filterByUser,
  launch,
  randomEnvironment,
  randomTag,
  runRow,
  runRowStatuses,
  screenshot,
  startRunFromForm,
  submitNewRun,
  watchRunInTable,
} from './lib.mjs';

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

describe('Baton UI', { concurrency: false }, () => {
  test('start a run from the form, watch it succeed, read its details and log', { timeout: TEST_TIMEOUT }, async () => {
    const page = await context.newPage();
    const username = `e2e-${tag}-a`;
    const environmentId = randomEnvironment();
    await page.goto('/');
    await assert.doesNotReject(page.getByRole('heading', { name: 'New run' }).waitFor());

    const id = await startRunFromForm(page, { username, environmentId, files: ['sample-tests/test_success.py'] });
    await filterByUser(page, username);
    const seen = await watchRunInTable(page, id);
    assert.equal(seen.at(-1), 'success', `statuses seen: ${seen.join(' → ')}`);
    assert.ok(seen.length >= 2 && ['queued', 'running'].includes(seen[0]), `expected queued/running before success, saw ${seen.join(' → ')}`);
    const row = runRow(page, id);
    assert.match(await row.textContent(), new RegExp(`env${environmentId}`));
    await screenshot(page, 'runs');

    await row.getByRole('link', { name: `#${id}` }).click();
    await page.waitForURL(`**/runs/${id}`);
    await page.getByRole('heading', { name: new RegExp(`Run #${id}`) }).waitFor();
    assert.equal(await page.locator('[data-field="requested_by"]').textContent(), username);
    assert.equal(await page.locator('[data-field="environment"]').textContent(), `env${environmentId}`);
    assert.match(await page.locator('[data-field="test_files"]').textContent(), /sample-tests\/test_success\.py/);
    assert.equal(await page.locator('[data-field="status"]').textContent(), 'success');
    assert.equal(await page.locator('[data-field="exit_code"]').textContent(), '0');
    const log = page.getByTestId('run-log');
    await page.locator('[data-testid="run-log"][data-complete="true"]').waitFor();
    assert.match(await log.textContent(), /passed/);
    await screenshot(page, 'run-details');

    // The details page survives a reload (server-side SPA fallback).
    await page.reload();
    await page.getByRole('heading', { name: new RegExp(`Run #${id}`) }).waitFor();
    await page.locator('[data-testid="run-log"][data-complete="true"]').waitFor();
    assert.match(await log.textContent(), /passed/);
    await page.close();
  });

  test('upload a test into a new directory and run it', { timeout: TEST_TIMEOUT }, async () => {
    const page = await context.newPage();
    const username = `e2e-${tag}-b`;
    const directory = `uploads/e2e-${tag}`;
    const name = `test_e2e_${tag}.py`;
    const dir = await mkdtemp(join(tmpdir(), 'baton-e2e-'));
    const file = join(dir, name);
    await writeFile(file, 'def test_uploaded_by_e2e():\n    assert sum([1, 2, 3]) == 6\n');

    await page.goto('/');
    const upload = page.getByRole('form', { name: 'Upload test' });
    await upload.locator('#upload-file').setInputFiles(file);
    await upload.locator('#upload-directory').fill(directory);
    await upload.getByRole('button', { name: 'Upload' }).click();
    await upload.getByRole('status').filter({ hasText: `${directory}/${name}` }).waitFor();

    // Selectable at once, and already selected in the New run form.
    const box = page.getByRole('checkbox', { name: `${directory}/${name}`, exact: true });
    await box.waitFor();
    const checkedBy = Date.now() + 5000;
    while (!(await box.isChecked()) && Date.now() < checkedBy) await page.waitForTimeout(50);
    assert.equal(await box.isChecked(), true, 'the uploaded file is selected in the New run form');
    const dirs = await api('/api/test-directories');
    assert.ok(dirs.items.some((d) => d.path === directory), `${directory} is not listed by GET /api/test-directories`);

    // Uploading the same name again without "Overwrite" is refused clearly.
    await upload.locator('#upload-file').setInputFiles(file);
    await upload.locator('#upload-directory').fill(directory);
    await upload.getByRole('button', { name: 'Upload' }).click();
    await upload.getByRole('alert').filter({ hasText: 'That file already exists' }).waitFor();
    await screenshot(page, 'upload');

    const id = await startRunFromForm(page, { username, environmentId: randomEnvironment(), files: [] });
    const run = await api(`/api/runs/${id}`);
    assert.deepEqual(run.test_files, [`${directory}/${name}`]);
    await filterByUser(page, username);
    const seen = await watchRunInTable(page, id);
    assert.equal(seen.at(-1), 'success', `statuses seen: ${seen.join(' → ')}`);
    await page.close();
  });

  test('a second run on the same environment waits as queued until the first ends', { timeout: TEST_TIMEOUT }, async () => {
    const page = await context.newPage();
    const username = `e2e-${tag}-c`;
    const environmentId = randomEnvironment();
    await page.goto('/');
    const first = await startRunFromForm(page, { username, environmentId, files: ['sample-tests/test_success.py'] });
    const second = await submitNewRun(page);
    assert.notEqual(first, second);
    await filterByUser(page, username);

    // Watch both rows together.
    const secondRow = runRow(page, second);
    await secondRow.waitFor();
    let sawQueuedWhileFirstLive = false;
    let queuedText = '';
    let envShot = false;
    const deadline = Date.now() + 180_000;
    for (;;) {
      assert.ok(Date.now() < deadline, 'runs did not finish in time');
      const [a, b] = await runRowStatuses(page, [first, second]);
      if (b === 'queued' && (a === 'queued' || a === 'running')) {
        sawQueuedWhileFirstLive = true;
        queuedText = (await secondRow.locator('.badge').textContent()) ?? '';
        if (!envShot) {
          envShot = true;
          await screenshot(page, 'runs-queued');
          const envPage = await context.newPage();
          await envPage.goto('/environments');
          await envPage.locator(`[data-env-id="${environmentId}"][data-state="busy"]`).waitFor({ timeout: 10_000 }).catch(() => {});
          await screenshot(envPage, 'environments');
          await envPage.close();
        }
      }
      // The second must never run while the first is still live.
      assert.ok(!(b === 'running' && (a === 'queued' || a === 'running')), 'second run started before the first ended');
      if (b && !['queued', 'running'].includes(b)) break;
      await page.waitForTimeout(100);
    }
    assert.ok(sawQueuedWhileFirstLive, 'never saw the second run queued while the first was live');
    assert.match(queuedText, /queued/);
    assert.equal(await secondRow.getAttribute('data-status'), 'success');

    const [r1, r2] = await Promise.all([api(`/api/runs/${first}`), api(`/api/runs/${second}`)]);
    assert.equal(r1.status, 'success');
    assert.ok(Date.parse(r2.started_at) >= Date.parse(r1.finished_at), 'second started before the first finished');
    await page.close();
  });

  test('cancel a running run from its details page', { timeout: TEST_TIMEOUT }, async () => {
    const page = await context.newPage();
    const username = `e2e-${tag}-d`;
    await page.goto('/');
    const id = await startRunFromForm(page, { username, environmentId: randomEnvironment(), files: ['sample-tests/test_slow.py'] });
    await page.goto(`/runs/${id}`);
    await page.locator('.run-header .badge--running').waitFor({ timeout: 120_000 });
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await page.getByRole('button', { name: 'Yes, cancel' }).click();
    await page.locator('.run-header .badge--cancelled').waitFor({ timeout: 60_000 });
    assert.equal((await api(`/api/runs/${id}`)).status, 'cancelled');
    assert.equal(await page.getByRole('button', { name: 'Cancel run' }).count(), 0);
    await page.close();
  });

  test('environments page shows all 100 environments', { timeout: TEST_TIMEOUT }, async () => {
    const page = await context.newPage();
    await page.goto('/environments');
    await page.getByRole('heading', { name: 'Environments', level: 1 }).waitFor();
    await page.locator('[data-env-id="100"]').waitFor();
    assert.equal(await page.locator('.env-tile').count(), 100);
    await screenshot(page, 'environments-final');
    await page.close();
  });
});
