// End-to-end tests against a running Baton (API + SPA on one origin).
//   BATON_URL=http://localhost:8080 npm run e2e
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  VIEWPORTS,
  api,
  apiHold,
  apiLog,
  apiRelease,
  apiRun,
  apiUpload,
  apiWaitFinal,
  axeViolations,
  horizontalOverflow,
  assertBatonUp,
  filterByUser,
  launch,
  openNewRun,
  randomEnvironment,
  randomTag,
  runRow,
  runRowStatuses,
  screenshot,
  startRunFromForm,
  submitNewRun,
  waitUntil,
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
    await assert.doesNotReject(page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor());

    // A sample run ends in well under a second, often before the table's next poll: held, it waits
    // as queued until the table has shown it, and then runs.
    await apiHold(environmentId, username, 'e2e: show the run queued first');
    const id = await startRunFromForm(page, { username, environmentId, files: ['sample-tests/test_success.py'] });
    await filterByUser(page, username);
    await page.locator(`table.runs-table tr[data-run-id="${id}"][data-status="queued"]`).waitFor();
    // Released, it takes the worker a moment and the run a fifth of a second at least: the watch reads
    // the row (still queued, or running) well before that.
    await apiRelease(environmentId);
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
    await page.getByRole('button', { name: 'Upload tests' }).click();
    const upload = page.getByRole('form', { name: 'Upload test' });
    await upload.locator('#upload-file').setInputFiles(file);
    await upload.locator('#upload-directory').fill(directory);
    await upload.getByRole('button', { name: 'Upload' }).click();
    await upload.getByRole('status').filter({ hasText: `${directory}/${name}` }).waitFor();

    // Selectable at once, and already selected in the New run form it opens.
    await upload.getByRole('button', { name: 'Start a run with it' }).click();
    const box = page.getByRole('dialog', { name: 'New run' }).getByRole('checkbox', { name: `${directory}/${name}`, exact: true });
    await box.waitFor();
    await waitUntil(() => box.isChecked(), 'the uploaded file selected in the New run form');
    const dirs = await api('/api/test-directories');
    assert.ok(dirs.items.some((d) => d.path === directory), `${directory} is not listed by GET /api/test-directories`);
    await page.keyboard.press('Escape');

    // Uploading the same name again without "Overwrite" is refused clearly, in one message.
    await page.getByRole('button', { name: 'Upload tests' }).click();
    await upload.locator('#upload-file').setInputFiles(file);
    await upload.locator('#upload-directory').fill(directory);
    await upload.getByRole('button', { name: 'Upload' }).click();
    const conflict = upload.getByRole('alert').filter({ hasText: 'That file already exists' });
    await conflict.waitFor();
    // Focus moved to the message, so a keyboard or screen reader user lands on it (by an effect
    // after the render that showed it: wait for it).
    await waitUntil(() => conflict.evaluate((el) => el === document.activeElement || el.contains(document.activeElement)), 'focus on the conflict message');
    await screenshot(page, 'upload');
    await page.keyboard.press('Escape');

    const id = await startRunFromForm(page, { username, environmentId: randomEnvironment(), files: [] });
    const run = await api(`/api/runs/${id}`);
    assert.deepEqual(run.test_files, [`${directory}/${name}`]);
    await filterByUser(page, username);
    const seen = await watchRunInTable(page, id);
    assert.equal(seen.at(-1), 'success', `statuses seen: ${seen.join(' → ')}`);
    await page.close();
  });

  test('upload a whole project folder (conftest, helpers) and run it', { timeout: TEST_TIMEOUT }, async () => {
    const page = await context.newPage();
    const root = await mkdtemp(join(tmpdir(), 'baton-e2e-proj-'));
    const project = join(root, `shop_${tag}`);
    await mkdir(join(project, 'tests'), { recursive: true });
    await writeFile(join(project, 'conftest.py'), 'import pytest\n\n@pytest.fixture\ndef price():\n    return 42\n');
    await writeFile(join(project, 'helpers.py'), 'def double(x):\n    return 2 * x\n');
    await writeFile(join(project, 'tests', 'test_shop.py'), 'from helpers import double\n\ndef test_price(price):\n    assert double(price) == 84\n');
    await page.goto('/');
    await page.getByRole('button', { name: 'Upload tests' }).click();
    const form = page.getByRole('form', { name: 'Upload project' });
    await form.locator('#project-folder').setInputFiles(project);
    // Filled in from the folder's name by the change handler's render: wait for it.
    await waitUntil(async () => (await form.locator('#project-directory').inputValue()) === `uploads/shop_${tag}`, `uploads/shop_${tag} as the project directory`);
    await form.getByRole('button', { name: 'Upload project' }).click();
    await form.getByRole('status').filter({ hasText: `uploads/shop_${tag}` }).waitFor();
    await page.keyboard.press('Escape');
    const id = await startRunFromForm(page, { username: `e2e-${tag}-proj`, environmentId: randomEnvironment(), files: [] });
    const run = await apiWaitFinal(id);
    assert.deepEqual(run.test_files, [`uploads/shop_${tag}/tests/test_shop.py`]);
    assert.equal(run.status, 'success', `project run ended ${run.status}`);
    await page.close();
  });

  test('a second run on the same environment waits as queued until the first ends', { timeout: TEST_TIMEOUT }, async () => {
    const page = await context.newPage();
    const username = `e2e-${tag}-c`;
    const environmentId = randomEnvironment();
    await page.goto('/');
    // The first runs for twelve seconds: a sample run of a fifth of a second could end before the
    // second is even submitted, and the second would never be seen waiting for it.
    const first = await startRunFromForm(page, { username, environmentId, files: ['sample-tests/test_slow.py'] });
    await openNewRun(page);
    await page.getByRole('checkbox', { name: 'sample-tests/test_slow.py', exact: true }).uncheck();
    await page.getByRole('checkbox', { name: 'sample-tests/test_success.py', exact: true }).check();
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
        // The badge of the same render as the status just read (a later read can see the next poll).
        const [status, text] = await secondRow.evaluate((row) => [row.dataset.status, row.querySelector('.badge')?.textContent ?? '']);
        if (status === 'queued') queuedText = text;
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
    // Who cancelled: the name this browser started the run with (polled text: wait for it).
    await page.locator('.run-header', { hasText: `cancelled by ${username}` }).waitFor();
    const cancelled = await api(`/api/runs/${id}`);
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(cancelled.cancelled_by, username);
    assert.equal(await page.getByRole('button', { name: 'Cancel run' }).count(), 0);
    await page.close();
  });

  test('rerun failed tests: the rerun links to its original, the original lists it, a cancel says who (1440 and 390, axe)', { timeout: TEST_TIMEOUT }, async () => {
    const owner = `e2e-${tag}-owner`;
    const rerunner = `e2e-${tag}-rerunner`;
    const environmentId = randomEnvironment();
    const original = await apiWaitFinal((await apiRun({ requested_by: owner, environment_id: environmentId, test_files: ['sample-tests/test_failure.py'] })).id);
    assert.equal(original.status, 'failed');
    // A hold keeps the rerun waiting in line, however slow the browser is, until it is cancelled.
    const hold = `/api/environments/${environmentId}/hold`;
    await api(hold, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ held_by: owner, reason: 'e2e: keep the rerun queued' }) });

    const page = await context.newPage();
    await page.setViewportSize(VIEWPORTS[0]);
    // A browser that does not know its user asks who reruns (the rerun is filed under that name).
    await page.goto('/');
    await page.evaluate(() => window.localStorage.removeItem('baton.username'));
    await page.goto(`/runs/${original.id}`);
    await page.getByRole('button', { name: /^Rerun \d+ failed$/ }).click();
    const rerunAs = page.getByRole('form', { name: 'Rerun as' });
    await rerunAs.waitFor();
    assert.deepEqual(await axeViolations(page), [], 'the Rerun as form');
    await rerunAs.getByRole('textbox').fill(rerunner);
    await rerunAs.getByRole('button', { name: 'Rerun' }).click();
    await page.waitForURL((url) => /^\/runs\/\d+$/.test(url.pathname) && url.pathname !== `/runs/${original.id}`);
    const rerunId = Number(new URL(page.url()).pathname.split('/').at(-1));
    const header = page.getByTestId('run-header');
    const back = header.getByRole('link', { name: `Rerun of #${original.id}` });
    await back.waitFor();
    assert.equal(await back.getAttribute('href'), `/runs/${original.id}`);
    const rerun = await api(`/api/runs/${rerunId}`);
    assert.equal(rerun.rerun_of, original.id);
    assert.equal(rerun.requested_by, rerunner, 'filed under who asked for it, not the original user');
    assert.ok(rerun.tests.length > 0, 'only the failed tests');
    // What it reruns: the failed tests by node id, on the page.
    for (const nodeId of rerun.tests) await page.locator('[data-field="selection"]', { hasText: nodeId }).waitFor();

    // Cancel it while it waits: the page, the table and the API say who.
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await page.getByRole('button', { name: 'Yes, cancel' }).click();
    await header.locator('.badge--cancelled').waitFor({ timeout: 60_000 });
    await header.locator('[data-field="cancelled_by"]', { hasText: `cancelled by ${rerunner}` }).waitFor();
    await page.locator('[data-field="reason"]', { hasText: `Cancelled by ${rerunner}` }).waitFor();
    assert.equal((await api(`/api/runs/${rerunId}`)).cancelled_by, rerunner);
    await api(hold, { method: 'DELETE' });

    for (const viewport of VIEWPORTS) {
      await page.setViewportSize(viewport);
      // The rerun's page, then the original's, which lists its rerun.
      await page.goto(`/runs/${rerunId}`);
      await page.getByTestId('run-header').getByRole('link', { name: `Rerun of #${original.id}` }).waitFor();
      await page.locator('[data-field="rerun_of"]', { hasText: 'failed' }).waitFor();
      for (const [name, ready] of [
        ['run-rerun', () => page.locator('[data-testid="run-log"][data-complete="true"]').waitFor()],
        ['run-original', () => page.locator('[data-field="reruns"]', { hasText: `#${rerunId}` }).waitFor()],
      ]) {
        if (name === 'run-original') await page.goto(`/runs/${original.id}`);
        await ready();
        const { over, culprits } = await horizontalOverflow(page);
        assert.equal(over, 0, `${name} at ${viewport.width}px overflows by ${over}px: ${culprits.join(', ')}`);
        assert.deepEqual(await axeViolations(page), [], `${name} at ${viewport.width}px`);
        await screenshot(page, name);
      }
      await page.locator('[data-field="reruns"]').getByRole('link', { name: `#${rerunId}` }).click();
      await page.waitForURL((url) => url.pathname === `/runs/${rerunId}`);

      // The runs table (cards on a phone): the rerun is marked, and its status says who cancelled it.
      await page.goto(`/?requested_by=${encodeURIComponent(rerunner)}`);
      const row = runRow(page, rerunId);
      await row.locator('.status-cell', { hasText: `by ${rerunner}` }).waitFor();
      assert.equal(await row.locator('.badge').getAttribute('title'), `Cancelled by ${rerunner}`);
      assert.equal(await row.locator('.rerun-mark').getAttribute('title'), `Rerun of #${original.id}`);
      const { over } = await horizontalOverflow(page);
      assert.equal(over, 0, `runs table with a cancelled rerun at ${viewport.width}px`);
      assert.deepEqual(await axeViolations(page), [], `runs table with a cancelled rerun at ${viewport.width}px`);
      await screenshot(page, 'runs-rerun-cancelled');
    }
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
  // A log with ANSI colours, a known line, a failure, and enough lines to scroll.
  let logRun;
  const knownLine = `the known line ${tag}`;
  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'baton-e2e-log-'));
    const file = join(dir, `test_log_${tag}.py`);
    await writeFile(
      file,
      [
        // capsys.disabled(): straight to the log, whatever capture mode the project uses.
        'def test_colours(capsys):',
        '    with capsys.disabled():',
        '        for i in range(3000):',
        "            print(f'row {i} \\x1b[32mgreen\\x1b[0m \\x1b[1;31mbold red\\x1b[0m')",
        `        print('${knownLine}')`,
        '',
        'def test_fails():',
        "    assert 41 + 1 == 43, 'the answer is off'",
        '',
      ].join('\n'),
    );
    const stored = await apiUpload(file, `uploads/e2e-log-${tag}`);
    const created = await apiRun({ requested_by: `e2e-${tag}-log`, environment_id: randomEnvironment(), test_files: [stored.path] });
    logRun = await apiWaitFinal(created.id);
  });

  test('the log: ANSI colours, #L links, search, first failure, raw download', { timeout: TEST_TIMEOUT }, async () => {
    assert.equal(logRun.status, 'failed');
    const stored = await apiLog(logRun.id);
    const storedLines = stored.split('\n');
    const knownIndex = storedLines.findIndex((l) => l === knownLine);
    assert.ok(knownIndex > 2000, 'the known line is deep in the log');

    // A #L link opens scrolled to its line, highlighted.
    const target = 1500;
    const page = await context.newPage();
    await page.goto(`/runs/${logRun.id}#L${target}`);
    const row = page.locator(`#L${target}`);
    await row.waitFor();
    await page.waitForFunction((n) => {
      const r = document.getElementById(`L${n}`)?.getBoundingClientRect();
      return r && r.top >= 0 && r.bottom <= window.innerHeight;
    }, target);
    assert.equal(await row.locator('.log__line--target').count(), 1);

    // Coloured spans, not escape codes.
    const green = page.locator('.log__row .ansi-green-fg');
    assert.ok((await green.count()) > 0, 'green spans');
    assert.equal(await green.first().textContent(), 'green');
    assert.equal(await page.locator('.log__row .ansi-red-fg.ansi-bold').first().textContent(), 'bold red');
    assert.ok(!(await page.locator('.log__lines').textContent()).includes('\u001b'), 'no raw escapes on screen');

    // Search finds the known line, and shows it.
    await page.getByLabel('Search the log').fill(knownLine);
    await page.getByTestId('log-search-count').filter({ hasText: '1 of 1' }).waitFor();
    await page.getByLabel('Search the log').press('Enter');
    const hit = page.locator(`#L${knownIndex + 1} mark`);
    await hit.waitFor();
    assert.equal(await hit.textContent(), knownLine);

    // Jump to first failure lands on the failing test's report. The URL already ends in #L<n> (the
    // search hit): wait for it to change, or the old line would be read.
    const searched = page.url();
    await page.getByRole('button', { name: 'First failure' }).click();
    await page.waitForURL((url) => /#L\d+$/.test(url.href) && url.href !== searched);
    const failureLine = Number(/#L(\d+)$/.exec(page.url())[1]);
    assert.match(storedLines[failureLine - 1], /_{3,} test_fails _{3,}/);

    // The failing test is listed above the log, linked to the same line.
    const failures = page.getByRole('region', { name: '1 failing test' });
    assert.equal(await failures.getByRole('link').getAttribute('href'), `/runs/${logRun.id}#L${failureLine}`);
    assert.match(await failures.locator('pre').textContent(), /the answer is off/);

    // The raw download is the stored log, byte for byte.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download raw' }).click()]);
    const saved = await readFile(await download.path(), 'utf8');
    assert.equal(saved, stored);

    // Tab title and favicon say how the run went.
    assert.match(await page.title(), new RegExp(`#${logRun.id} failed`));
    assert.match(await page.locator('link[rel="icon"]').getAttribute('href'), /^data:image\/svg\+xml/);
    await page.close();
  });

  test('100,000 log lines: loads, and the scrollbar tells the truth', { timeout: TEST_TIMEOUT }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'baton-e2e-big-'));
    const file = join(dir, `test_big_${tag}.py`);
    await writeFile(file, "def test_big(capsys):\n    with capsys.disabled():\n        for i in range(100_000):\n            print(f'big {i} \\x1b[36mcyan\\x1b[0m payload')\n");
    const stored = await apiUpload(file, `uploads/e2e-big-${tag}`);
    const created = await apiRun({ requested_by: `e2e-${tag}-big`, environment_id: randomEnvironment(), test_files: [stored.path] });
    await apiWaitFinal(created.id);
    const page = await context.newPage();
    const started = Date.now();
    await page.goto(`/runs/${created.id}`);
    await page.locator('[data-testid="run-log"][data-complete="true"]').waitFor({ timeout: 60_000 });
    const loadedMs = Date.now() - started;
    const lines = Number(await page.getByTestId('run-log').getAttribute('data-lines'));
    assert.ok(lines > 100_000, `${lines} lines`);
    // Dragging the scrollbar to the middle of the log lands in the middle of the log.
    const mid = await page.evaluate(async () => {
      const list = document.querySelector('.log__lines');
      const top = list.getBoundingClientRect().top + window.scrollY;
      window.scrollTo(0, top + list.offsetHeight / 2 - window.innerHeight / 2);
      // The virtual list renders the rows there on a later frame (a fixed 300 ms is a guess a loaded
      // machine can miss): read the middle row once the rows in view stay the same over five frames.
      const middle = () => {
        const rows = [...document.querySelectorAll('.log__row')].filter((r) => {
          const b = r.getBoundingClientRect();
          return b.top >= 0 && b.bottom <= window.innerHeight;
        });
        return rows.length > 0 ? Number(rows[Math.floor(rows.length / 2)].dataset.line) : null;
      };
      const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
      let last = null;
      let same = 0;
      for (let i = 0; i < 600 && same < 5; i++) {
        await frame();
        const now = middle();
        same = now !== null && now === last ? same + 1 : 0;
        last = now;
      }
      return last;
    });
    assert.ok(Math.abs(mid / lines - 0.5) < 0.02, `line ${mid} of ${lines} at the middle of the scrollbar`);
    const rendered = await page.locator('.log__row').count();
    assert.ok(rendered < 400, `${rendered} rows in the DOM`);
    console.log(`# 100,000-line log: complete on screen ${loadedMs} ms after navigation; ${rendered} rows rendered; middle row ${mid}`);
    await page.close();
  });

  test('every page at 1440×900 and 390×844: no horizontal overflow, no serious axe violations, screenshots', { timeout: TEST_TIMEOUT }, async () => {
    for (const viewport of VIEWPORTS) {
      const page = await context.newPage();
      await page.setViewportSize(viewport);
      const pages = [
        ['runs', '/', async () => page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor()],
        ['run', `/runs/${logRun.id}`, async () => page.locator('[data-testid="run-log"][data-complete="true"]').waitFor()],
        ['environments', '/environments', async () => page.locator('[data-env-id="100"]').waitFor()],
        ['not-found', '/no/such/page', async () => page.getByText('This page does not exist.').waitFor()],
      ];
      for (const [name, path, ready] of pages) {
        await page.goto(path);
        await ready();
        const { over, culprits } = await horizontalOverflow(page);
        assert.equal(over, 0, `${name} at ${viewport.width}px overflows by ${over}px: ${culprits.join(', ')}`);
        assert.deepEqual(await axeViolations(page), [], `${name} at ${viewport.width}px`);
        await screenshot(page, name);
      }
      // The dialogs too.
      await page.goto('/');
      for (const [button, name] of [
        ['New run', 'new-run'],
        ['Upload tests', 'upload-dialog'],
      ]) {
        await page.getByRole('button', { name: button, exact: true }).click();
        await page.getByRole('dialog').filter({ visible: true }).waitFor();
        assert.equal((await horizontalOverflow(page)).over, 0, `${name} dialog at ${viewport.width}px`);
        assert.deepEqual(await axeViolations(page), [], `${name} dialog at ${viewport.width}px`);
        await screenshot(page, name);
        await page.keyboard.press('Escape');
      }
      if (viewport.width < 600) {
        // Runs are cards with their status in view.
        const badge = page.locator('table.runs-table tr[data-run-id] .badge').first();
        await badge.waitFor();
        const box = await badge.boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= viewport.width, 'status visible on the card');
      }
      await page.close();
    }
  });

  test('runs table: fixed column widths across polls, new runs held in a pill', { timeout: TEST_TIMEOUT }, async () => {
    const user = `e2e-${tag}-cols`;
    const environmentId = randomEnvironment();
    // Three runs in one environment: they go queued → running → success one after another. Three
    // sample runs can all end before the page has loaded: the environment is held until the table
    // shows them queued, so the polls watched below see them change.
    await apiHold(environmentId, user, 'e2e: keep the runs queued until the table shows them');
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await apiRun({ requested_by: user, environment_id: environmentId, test_files: ['sample-tests/test_success.py'] })).id);
    const page = await context.newPage();
    await page.goto(`/?requested_by=${user}`);
    await page.locator('table.runs-table tr[data-run-id][data-status="queued"]').nth(2).waitFor();
    const widths = () => page.evaluate(() => [...document.querySelectorAll('table.runs-table thead th')].map((th) => th.getBoundingClientRect().width));
    const statuses = () => page.evaluate(() => [...document.querySelectorAll('table.runs-table tr[data-run-id]')].map((r) => r.dataset.status).join(','));
    const first = await widths();
    const seenStates = new Set([await statuses()]);
    await apiRelease(environmentId);
    // Every poll until all three have ended (at least five), the widths the same after each.
    const deadline = Date.now() + 120_000;
    for (let poll = 0; poll < 5 || !(await statuses()).split(',').every((st) => st === 'success'); poll++) {
      assert.ok(Date.now() < deadline, `the runs did not end: ${await statuses()}`);
      await page.waitForResponse((r) => r.url().includes('/api/runs?'));
      await page.waitForTimeout(50);
      assert.deepEqual(await widths(), first, `column widths after poll ${poll + 1}`);
      seenStates.add(await statuses());
    }
    assert.ok(seenStates.size > 1, `runs changed state during the polls: ${[...seenStates].join(' | ')}`);

    // The reader points at the table: a new run does not push the rows down.
    const rowIds = () => page.evaluate(() => [...document.querySelectorAll('table.runs-table tr[data-run-id]')].map((r) => Number(r.dataset.runId)));
    const topRow = page.locator('table.runs-table tr[data-run-id]').first();
    await topRow.hover();
    const before = await rowIds();
    const y = (await topRow.boundingBox()).y;
    const fresh = await apiRun({ requested_by: user, environment_id: environmentId, test_files: ['sample-tests/test_success.py'] });
    await page.getByTestId('new-runs-pill').filter({ hasText: '1 new run' }).waitFor();
    assert.deepEqual(await rowIds(), before, 'rows stay where they were');
    assert.equal((await page.locator('table.runs-table tr[data-run-id]').first().boundingBox()).y, y);
    await page.getByTestId('new-runs-pill').click();
    await page.waitForFunction((id) => document.querySelector('table.runs-table tr[data-run-id]')?.dataset.runId === String(id), fresh.id);
    await page.close();
    // Ended before the next test stops the server, so nothing of this test is left in line.
    for (const id of [...ids, fresh.id]) await apiWaitFinal(id);
  });

  test('offline: the server stops, the UI says how stale it is and pauses; it recovers by itself', { timeout: TEST_TIMEOUT }, async (t) => {
    const serve = process.env.E2E_SERVE;
    const pidfile = process.env.E2E_SERVER_PIDFILE;
    if (!serve || !pidfile) {
      t.skip('needs E2E_SERVE and E2E_SERVER_PIDFILE (set by .ci/e2e.sh)');
      return;
    }
    const page = await context.newPage();
    await page.goto(`/runs/${logRun.id}`);
    await page.locator('[data-testid="run-log"][data-complete="true"]').waitFor();
    await page.goto('/');
    await page.locator('table.runs-table tr[data-run-id]').first().waitFor();
    assert.equal(await page.getByRole('button', { name: 'New run', exact: true }).isEnabled(), true);

    process.kill(Number((await readFile(pidfile, 'utf8')).trim()), 'SIGTERM');
    await page.getByTestId('offline-banner').waitFor({ timeout: 15_000 });
    await page.getByTestId('last-updated').filter({ hasText: /\d+ s ago/ }).waitFor({ timeout: 10_000 });
    assert.equal(await page.getByRole('button', { name: 'New run', exact: true }).isDisabled(), true, 'actions paused');
    await screenshot(page, 'offline');

    const child = spawn(serve, { detached: true, stdio: 'ignore' });
    child.unref();
    await page.getByTestId('offline-banner').waitFor({ state: 'detached', timeout: 30_000 });
    await page.getByRole('button', { name: 'New run', exact: true }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'New run', exact: true }).isEnabled(), true, 'actions back');
    await page.close();
  });
});
