import { useEffect, useRef, useState } from 'react';
import { useOnline } from '../../api/status';
import { loadUsername } from '../../lib/username';
import { Link, useLocation, useSearchParams } from 'react-router';
import { useRuns } from '../../api/queries';
import { MAX_ENVIRONMENT_ID, RUN_STATUSES, type ListRunsQuery, type Run, type RunStatus } from '../../api/types';
import { EmptyState, ErrorState, LoadingState, Spinner } from '../../components/States';
import { environmentName } from '../../lib/format';
import { RunsTable } from './RunsTable';

const PAGE_SIZES = [25, 50, 100] as const;
const DEFAULT_PAGE_SIZE = 25;
const TYPING_DELAY_MS = 300;

/** History state kept with each page: the cursors of the newer pages, to go back with "Newer". */
interface PagingState {
  newerCursors: string[];
}

/** Statuses from the URL: repeated (?status=a&status=b) or comma-separated, unknown ones dropped. */
function parseStatuses(values: string[]): RunStatus[] {
  const all = values.flatMap((v) => v.split(','));
  return RUN_STATUSES.filter((s) => all.includes(s));
}

/** yyyy-mm-dd from the URL, or undefined. */
function parseDay(value: string | null): string | undefined {
  return value && /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00`)) ? value : undefined;
}

function parseEnvironment(value: string | null): number | undefined {
  const n = Number(value);
  return value && Number.isInteger(n) && n >= 1 && n <= MAX_ENVIRONMENT_ID ? n : undefined;
}

function parseRunId(value: string | null): number | undefined {
  const n = Number(value);
  return value && Number.isSafeInteger(n) && n >= 1 ? n : undefined;
}

function parsePageSize(value: string | null): number {
  const n = Number(value);
  return (PAGE_SIZES as readonly number[]).includes(n) ? n : DEFAULT_PAGE_SIZE;
}

/**
 * Holds back runs that appear at the top while the reader is busy with the table
 * (scrolled down, pointing at it or focused in it), so rows never move under them;
 * they are counted in a "N new runs" pill instead. Runs of this browser's own
 * New run form show at once.
 */
function useHeldRuns(items: Run[] | undefined, active: boolean, ownRunId: number | undefined) {
  const [shown, setShown] = useState<ReadonlySet<number> | null>(null);
  const [busy, setBusy] = useState(false);
  // Scrolling moves no state; the next poll's render reads where the page is.
  const engaged = busy || window.scrollY > 0;
  const ids = items?.map((r) => r.id) ?? [];
  const newIds = shown ? ids.filter((id) => !shown.has(id) && id !== ownRunId) : [];
  // Only runs newer than everything shown are "new"; anything else (paging, filters) is shown.
  const newest = shown && shown.size > 0 ? Math.max(...shown) : 0;
  const held = active && engaged ? newIds.filter((id) => id > newest) : [];
  const all = new Set(ids);
  const next = held.length > 0 ? new Set([...ids].filter((id) => !held.includes(id))) : all;
  const same = shown !== null && shown.size === next.size && [...next].every((id) => shown.has(id));
  if (items && !same) setShown(next);
  return {
    visible: items?.filter((r) => !held.includes(r.id)),
    held: held.length,
    showAll: () => setShown(all),
    setEngaged: setBusy,
  };
}

function readPaging(state: unknown): string[] {
  const cursors = (state as PagingState | null)?.newerCursors;
  return Array.isArray(cursors) ? cursors.filter((c) => typeof c === 'string') : [];
}

/** Filters (kept in the URL), the runs table and keyset pagination. */
export function RunsPanel({ ownRunId }: { ownRunId?: number } = {}) {
  const online = useOnline();
  const me = loadUsername().trim();
  const [params, setParams] = useSearchParams();
  const location = useLocation();
  const statuses = parseStatuses(params.getAll('status'));
  const from = parseDay(params.get('from'));
  const to = parseDay(params.get('to'));
  const testFile = params.get('test_file') ?? '';
  const environmentId = parseEnvironment(params.get('environment_id'));
  const requestedBy = params.get('requested_by') ?? '';
  const rerunOf = parseRunId(params.get('rerun_of'));
  const cursor = params.get('cursor') ?? undefined;
  const newerCursors = readPaging(location.state);

  const pageSize = parsePageSize(params.get('limit'));
  const query: ListRunsQuery = { limit: pageSize };
  if (statuses.length > 0) query.status = statuses;
  // Days in the reader's own time zone, inclusive: from its first to its last millisecond.
  if (from) query.created_after = new Date(`${from}T00:00:00`).toISOString();
  if (to) query.created_before = new Date(`${to}T23:59:59.999`).toISOString();
  if (testFile) query.test_file = testFile;
  if (environmentId) query.environment_id = environmentId;
  if (requestedBy) query.requested_by = requestedBy;
  if (rerunOf) query.rerun_of = rerunOf;
  if (cursor) query.cursor = cursor;
  const runs = useRuns(query);

  // The username box is typed into: commit it to the URL once typing pauses.
  const [usernameInput, setUsernameInput] = useState(requestedBy);
  const [syncedUsername, setSyncedUsername] = useState(requestedBy);
  if (requestedBy !== syncedUsername) {
    // The URL changed under us (back/forward, "Clear filters"): show its value.
    setSyncedUsername(requestedBy);
    setUsernameInput(requestedBy);
  }
  const typingTimer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(typingTimer.current), []);

  const updateFilters = (changes: Record<string, string | string[] | undefined>) => {
    window.clearTimeout(typingTimer.current);
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      next.delete(key);
      for (const v of Array.isArray(value) ? value : value ? [value] : []) next.append(key, v);
    }
    next.delete('cursor'); // a new filter starts at the newest page
    setParams(next, { replace: true, state: null });
  };

  const commitUsername = (value: string) => {
    const trimmed = value.trim();
    if (trimmed !== requestedBy) updateFilters({ requested_by: trimmed || undefined });
  };

  // The test file box, like the username box, commits once typing pauses.
  const [fileInput, setFileInput] = useState(testFile);
  const [syncedFile, setSyncedFile] = useState(testFile);
  if (testFile !== syncedFile) {
    setSyncedFile(testFile);
    setFileInput(testFile);
  }
  const commitFile = (value: string) => {
    if (value.trim() !== testFile) updateFilters({ test_file: value.trim() || undefined });
  };
  const toggleStatus = (s: RunStatus) =>
    updateFilters({ status: statuses.includes(s) ? statuses.filter((x) => x !== s) : RUN_STATUSES.filter((x) => x === s || statuses.includes(x)) });
  const clearAll = { status: undefined, environment_id: undefined, requested_by: undefined, from: undefined, to: undefined, test_file: undefined, rerun_of: undefined };

  const goNext = (nextCursor: string) => {
    const next = new URLSearchParams(params);
    next.set('cursor', nextCursor);
    setParams(next, { state: { newerCursors: [...newerCursors, cursor ?? ''] } satisfies PagingState });
  };

  const goNewer = () => {
    const next = new URLSearchParams(params);
    const previous = newerCursors.at(-1);
    if (previous) next.set('cursor', previous);
    else next.delete('cursor');
    setParams(next, { state: { newerCursors: newerCursors.slice(0, -1) } satisfies PagingState });
  };

  const hasFilters = Boolean(statuses.length > 0 || environmentId || requestedBy || from || to || testFile || rerunOf);
  const data = runs.data;
  // New runs arrive only on the newest page; older pages never gain rows at the top.
  const held = useHeldRuns(runs.isPlaceholderData ? undefined : data?.items, !cursor, ownRunId);
  // history.state survives reloads; without it (a pasted link) the page number is unknown.
  const pageLabel = !cursor ? 'Newest' : newerCursors.length > 0 ? `Page ${newerCursors.length + 1}` : 'Older runs';

  let body;
  if (runs.isPending) {
    body = <LoadingState label="Loading runs…" />;
  } else if (!data) {
    body = <ErrorState title="Could not load runs" error={runs.error} />;
  } else if (data.items.length === 0) {
    body = hasFilters ? (
      <EmptyState title="No runs match these filters.">
        <button type="button" className="button" onClick={() => updateFilters(clearAll)}>
          Clear filters
        </button>
      </EmptyState>
    ) : cursor ? (
      <EmptyState title="No older runs." />
    ) : (
      <EmptyState title="No runs yet.">Start one with the form above.</EmptyState>
    );
  } else {
    body = (
      <div
        onPointerEnter={() => held.setEngaged(true)}
        onPointerLeave={() => held.setEngaged(false)}
        onFocus={() => held.setEngaged(true)}
        onBlur={() => held.setEngaged(false)}
      >
        {held.held > 0 && (
          <div className="new-runs">
            <button type="button" className="pill" onClick={held.showAll} data-testid="new-runs-pill">
              ↑ {held.held === 1 ? '1 new run' : `${held.held} new runs`}
            </button>
          </div>
        )}
        <RunsTable runs={held.visible ?? data.items} now={runs.dataUpdatedAt} dimmed={runs.isPlaceholderData} stale={!online} />
      </div>
    );
  }

  return (
    <div className="runs-panel">
      <form className="filters" role="search" aria-label="Filter runs" onSubmit={(e) => {
        e.preventDefault();
        commitUsername(usernameInput);
        commitFile(fileInput);
      }}>
        <div className="field field--inline" role="group" aria-labelledby="filter-status-label">
          <span className="field__label" id="filter-status-label">
            Status
          </span>
          <span className="status-toggles">
            {RUN_STATUSES.map((s) => (
              <button
                key={s}
                type="button"
                className={`status-toggle status-toggle--${s}`}
                aria-pressed={statuses.includes(s)}
                onClick={() => toggleStatus(s)}
              >
                {s}
              </button>
            ))}
          </span>
        </div>
        <div className="field field--inline">
          <label htmlFor="filter-environment" className="field__label">
            Environment
          </label>
          <select
            id="filter-environment"
            className="input input--small"
            value={environmentId ?? ''}
            onChange={(e) => updateFilters({ environment_id: e.target.value || undefined })}
          >
            <option value="">All environments</option>
            {Array.from({ length: MAX_ENVIRONMENT_ID }, (_, i) => i + 1).map((id) => (
              <option key={id} value={id}>
                {environmentName(id)}
              </option>
            ))}
          </select>
        </div>
        <div className="field field--inline">
          <label htmlFor="filter-username" className="field__label">
            Username
          </label>
          <input
            id="filter-username"
            type="search"
            className="input input--small"
            placeholder="Any user"
            value={usernameInput}
            maxLength={150}
            onChange={(e) => {
              const value = e.target.value;
              setUsernameInput(value);
              window.clearTimeout(typingTimer.current);
              typingTimer.current = window.setTimeout(() => commitUsername(value), TYPING_DELAY_MS);
            }}
            onBlur={() => commitUsername(usernameInput)}
          />
        </div>
        <div className="field field--inline">
          <label htmlFor="filter-file" className="field__label">
            Test file
          </label>
          <input
            id="filter-file"
            type="search"
            className="input input--small"
            placeholder="Any file"
            value={fileInput}
            maxLength={1024}
            onChange={(e) => {
              const value = e.target.value;
              setFileInput(value);
              window.clearTimeout(typingTimer.current);
              typingTimer.current = window.setTimeout(() => commitFile(value), TYPING_DELAY_MS);
            }}
            onBlur={() => commitFile(fileInput)}
          />
        </div>
        <div className="field field--inline">
          <label htmlFor="filter-from" className="field__label">
            From
          </label>
          <input
            id="filter-from"
            type="date"
            className="input input--small"
            value={from ?? ''}
            max={to}
            onChange={(e) => updateFilters({ from: e.target.value || undefined })}
          />
        </div>
        <div className="field field--inline">
          <label htmlFor="filter-to" className="field__label">
            To
          </label>
          <input
            id="filter-to"
            type="date"
            className="input input--small"
            value={to ?? ''}
            min={from}
            onChange={(e) => updateFilters({ to: e.target.value || undefined })}
          />
        </div>
        <div className="field field--checkbox field--inline">
          <input
            id="filter-mine"
            type="checkbox"
            checked={me !== '' && requestedBy === me}
            disabled={me === ''}
            onChange={(e) => updateFilters({ requested_by: e.target.checked ? me : undefined })}
          />
          <label htmlFor="filter-mine" title={me ? `Runs requested by ${me}` : 'Start a run first: this browser does not know your name yet'}>
            My runs
          </label>
        </div>
        <div className="field field--inline">
          <label htmlFor="filter-limit" className="field__label">
            Per page
          </label>
          <select
            id="filter-limit"
            className="input input--small"
            value={pageSize}
            onChange={(e) => updateFilters({ limit: Number(e.target.value) === DEFAULT_PAGE_SIZE ? undefined : e.target.value })}
          >
            {PAGE_SIZES.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
        {rerunOf && (
          <span className="field field--inline" data-testid="rerun-of-filter">
            <span>
              Reruns of <Link to={`/runs/${rerunOf}`}>#{rerunOf}</Link>
            </span>
            <button type="button" className="button button--link" onClick={() => updateFilters({ rerun_of: undefined })}>
              Show all runs
            </button>
          </span>
        )}
        {hasFilters && (
          <button
            type="button"
            className="button button--link"
            onClick={() => updateFilters(clearAll)}
          >
            Clear filters
          </button>
        )}
        <span className="filters__status" aria-live="polite">
          {runs.isFetching && runs.isPlaceholderData ? <Spinner label="Updating…" /> : null}
        </span>
      </form>
      {body}
      <nav className="pager" aria-label="Runs pages">
        {data && (
          <span className="pager__total" data-testid="runs-total">
            {data.total === 1 ? '1 run' : `${data.total.toLocaleString()} runs`}
            {hasFilters ? ' match' : ''}
          </span>
        )}
        <button type="button" className="button" onClick={goNewer} disabled={!cursor}>
          ← Newer
        </button>
        <span className="pager__page">{pageLabel}</span>
        <button
          type="button"
          className="button"
          onClick={() => data?.next_cursor && goNext(data.next_cursor)}
          disabled={!data?.next_cursor || runs.isPlaceholderData}
        >
          Next →
        </button>
      </nav>
    </div>
  );
}
