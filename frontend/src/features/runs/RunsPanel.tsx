import { useEffect, useRef, useState } from 'react';
import { useLocation, useSearchParams } from 'react-router';
import { useRuns } from '../../api/queries';
import { MAX_ENVIRONMENT_ID, RUN_STATUSES, type ListRunsQuery, type RunStatus } from '../../api/types';
import { EmptyState, ErrorState, LoadingState, Spinner } from '../../components/States';
import { environmentName } from '../../lib/format';
import { RunsTable } from './RunsTable';

const RUNS_PAGE_SIZE = 25;
const TYPING_DELAY_MS = 300;

/** History state kept with each page: the cursors of the newer pages, to go back with "Newer". */
interface PagingState {
  newerCursors: string[];
}

function parseStatus(value: string | null): RunStatus | undefined {
  return (RUN_STATUSES as readonly string[]).includes(value ?? '') ? (value as RunStatus) : undefined;
}

function parseEnvironment(value: string | null): number | undefined {
  const n = Number(value);
  return value && Number.isInteger(n) && n >= 1 && n <= MAX_ENVIRONMENT_ID ? n : undefined;
}

function readPaging(state: unknown): string[] {
  const cursors = (state as PagingState | null)?.newerCursors;
  return Array.isArray(cursors) ? cursors.filter((c) => typeof c === 'string') : [];
}

/** Filters (kept in the URL), the runs table and keyset pagination. */
export function RunsPanel() {
  const [params, setParams] = useSearchParams();
  const location = useLocation();
  const status = parseStatus(params.get('status'));
  const environmentId = parseEnvironment(params.get('environment_id'));
  const requestedBy = params.get('requested_by') ?? '';
  const cursor = params.get('cursor') ?? undefined;
  const newerCursors = readPaging(location.state);

  const query: ListRunsQuery = { limit: RUNS_PAGE_SIZE };
  if (status) query.status = status;
  if (environmentId) query.environment_id = environmentId;
  if (requestedBy) query.requested_by = requestedBy;
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

  const updateFilters = (changes: Record<string, string | undefined>) => {
    window.clearTimeout(typingTimer.current);
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value) next.set(key, value);
      else next.delete(key);
    }
    next.delete('cursor'); // a new filter starts at the newest page
    setParams(next, { replace: true, state: null });
  };

  const commitUsername = (value: string) => {
    const trimmed = value.trim();
    if (trimmed !== requestedBy) updateFilters({ requested_by: trimmed || undefined });
  };

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

  const hasFilters = Boolean(status || environmentId || requestedBy);
  const data = runs.data;
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
        <button type="button" className="button" onClick={() => updateFilters({ status: undefined, environment_id: undefined, requested_by: undefined })}>
          Clear filters
        </button>
      </EmptyState>
    ) : cursor ? (
      <EmptyState title="No older runs." />
    ) : (
      <EmptyState title="No runs yet.">Start one with the form above.</EmptyState>
    );
  } else {
    body = <RunsTable runs={data.items} now={runs.dataUpdatedAt} dimmed={runs.isPlaceholderData} />;
  }

  return (
    <div className="runs-panel">
      <form className="filters" role="search" aria-label="Filter runs" onSubmit={(e) => {
        e.preventDefault();
        commitUsername(usernameInput);
      }}>
        <div className="field field--inline">
          <label htmlFor="filter-status" className="field__label">
            Status
          </label>
          <select
            id="filter-status"
            className="input input--small"
            value={status ?? ''}
            onChange={(e) => updateFilters({ status: e.target.value || undefined })}
          >
            <option value="">All statuses</option>
            {RUN_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
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
        {hasFilters && (
          <button
            type="button"
            className="button button--link"
            onClick={() => updateFilters({ status: undefined, environment_id: undefined, requested_by: undefined })}
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
