import { useMemo, useState, type ReactNode } from 'react';
import type { TestFile } from '../../api/types';
import { splitPath } from '../../lib/format';

interface TestFilePickerProps {
  /** Prefix for element ids. */
  id: string;
  files: TestFile[] | undefined;
  isLoading: boolean;
  loadError?: string;
  selected: string[];
  onChange: (selected: string[]) => void;
  error?: string;
  errorId: string;
}

interface Group {
  directory: string;
  files: TestFile[];
}

function groupByDirectory(files: TestFile[], filter: string): Group[] {
  const terms = filter.toLowerCase().split(/\s+/).filter(Boolean);
  const groups = new Map<string, TestFile[]>();
  for (const file of files) {
    const haystack = file.path.toLowerCase();
    if (!terms.every((t) => haystack.includes(t))) continue;
    const list = groups.get(file.directory);
    if (list) list.push(file);
    else groups.set(file.directory, [file]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([directory, list]) => ({ directory, files: list }));
}

function domId(prefix: string, path: string): string {
  return `${prefix}-${path.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** A checkbox that can show the "some selected" state. */
function TriStateCheckbox(props: {
  id: string;
  checked: boolean;
  indeterminate: boolean;
  onChange: (checked: boolean) => void;
  label: ReactNode;
  tabIndex: number;
}) {
  const { id, checked, indeterminate, onChange, label, tabIndex } = props;
  return (
    <>
      <input
        type="checkbox"
        id={id}
        tabIndex={tabIndex}
        checked={checked}
        ref={(el) => {
          if (el) el.indeterminate = indeterminate;
        }}
        onChange={(e) => onChange(e.target.checked)}
      />
      <label htmlFor={id}>{label}</label>
    </>
  );
}

/** Multi-select of test files, grouped by directory, with a filter box. */
export function TestFilePicker({ id, files, isLoading, loadError, selected, onChange, error, errorId }: TestFilePickerProps) {
  const [filter, setFilter] = useState('');
  const groups = useMemo(() => groupByDirectory(files ?? [], filter), [files, filter]);
  const selectedSet = useMemo(() => new Set(selected), [selected]);
  const filterId = `${id}-filter`;
  // The list is one Tab stop: arrow keys move between its checkboxes (a roving tabindex).
  const [activeId, setActiveId] = useState<string | null>(null);
  const boxIds = groups.flatMap((g) => [domId(`${id}-dir`, g.directory), ...g.files.map((f) => domId(`${id}-file`, f.path))]);
  const tabStop = activeId && boxIds.includes(activeId) ? activeId : boxIds[0];
  const tabIndexOf = (boxId: string) => (boxId === tabStop ? 0 : -1);
  const onListKeyDown = (e: React.KeyboardEvent<HTMLDivElement>) => {
    const keys = ['ArrowDown', 'ArrowUp', 'Home', 'End'];
    if (!keys.includes(e.key)) return;
    const boxes = [...e.currentTarget.querySelectorAll<HTMLInputElement>('input[type="checkbox"]')];
    const at = boxes.indexOf(document.activeElement as HTMLInputElement);
    if (at < 0) return;
    e.preventDefault();
    const next =
      e.key === 'Home' ? 0 : e.key === 'End' ? boxes.length - 1 : Math.max(0, Math.min(boxes.length - 1, at + (e.key === 'ArrowDown' ? 1 : -1)));
    boxes[next]!.focus();
    setActiveId(boxes[next]!.id);
  };
  const legendId = `${id}-legend`;

  const toggle = (path: string, on: boolean) => {
    if (on && !selectedSet.has(path)) onChange([...selected, path]);
    else if (!on) onChange(selected.filter((p) => p !== path));
  };

  const toggleGroup = (group: Group, on: boolean) => {
    const paths = group.files.map((f) => f.path);
    if (on) onChange([...selected, ...paths.filter((p) => !selectedSet.has(p))]);
    else onChange(selected.filter((p) => !paths.includes(p)));
  };

  let list: ReactNode;
  if (isLoading) {
    list = <p className="picker__note">Loading test files…</p>;
  } else if (loadError) {
    list = (
      <p className="picker__note picker__note--error" role="alert">
        Could not load the test files: {loadError}
      </p>
    );
  } else if ((files ?? []).length === 0) {
    list = <p className="picker__note">No test files yet. Upload one below.</p>;
  } else if (groups.length === 0) {
    list = <p className="picker__note">No test file matches “{filter}”.</p>;
  } else {
    list = groups.map((group) => {
      const count = group.files.filter((f) => selectedSet.has(f.path)).length;
      const groupId = domId(`${id}-dir`, group.directory);
      return (
        <div className="picker__group" key={group.directory} role="group" aria-labelledby={`${groupId}-label`}>
          <div className="picker__group-head" id={`${groupId}-label`}>
            <TriStateCheckbox
              id={groupId}
              checked={count === group.files.length}
              indeterminate={count > 0 && count < group.files.length}
              onChange={(on) => toggleGroup(group, on)}
              tabIndex={tabIndexOf(groupId)}
              label={
                <>
                  <span className="picker__dir">{group.directory || '(root)'}/</span>
                  <span className="picker__count">
                    {count > 0 ? `${count} of ${group.files.length}` : group.files.length}
                  </span>
                </>
              }
            />
          </div>
          <ul className="picker__files">
            {group.files.map((file) => {
              const fileId = domId(`${id}-file`, file.path);
              const [, name] = splitPath(file.path);
              return (
                <li key={file.path}>
                  {/* The visible label is the file name; the accessible name is the whole path. */}
                  <input
                    type="checkbox"
                    id={fileId}
                    aria-label={file.path}
                    tabIndex={tabIndexOf(fileId)}
                    onFocus={() => setActiveId(fileId)}
                    checked={selectedSet.has(file.path)}
                    onChange={(e) => toggle(file.path, e.target.checked)}
                  />
                  <label htmlFor={fileId} title={file.path}>
                    {name}
                  </label>
                </li>
              );
            })}
          </ul>
        </div>
      );
    });
  }

  return (
    <fieldset
      className={`picker ${error ? 'picker--invalid' : ''}`}
      aria-describedby={error ? errorId : undefined}
      aria-invalid={error ? true : undefined}
    >
      <legend id={legendId}>Test files</legend>
      <div className="picker__toolbar">
        <label htmlFor={filterId} className="sr-only">
          Filter test files
        </label>
        <input
          id={filterId}
          type="search"
          className="input input--small"
          placeholder="Filter test files…"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
          autoComplete="off"
        />
        <span className="picker__summary" aria-live="polite">
          {selected.length} selected
        </span>
        {selected.length > 0 && (
          <button type="button" className="button button--link" onClick={() => onChange([])}>
            Clear
          </button>
        )}
      </div>
      {selected.length > 0 && (
        <ul className="chips" aria-label="Selected test files">
          {selected.map((path) => (
            <li key={path} className="chip">
              <span className="chip__text">{path}</span>
              <button type="button" className="chip__remove" aria-label={`Remove ${path}`} onClick={() => toggle(path, false)}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      {/* Arrow keys move between the checkboxes; the list is one Tab stop. */}
      <div className="picker__list" onKeyDown={onListKeyDown} aria-describedby={`${id}-keys`}>
        {list}
      </div>
      <p className="sr-only" id={`${id}-keys`}>
        Use the arrow keys to move between test files, Space to select.
      </p>
    </fieldset>
  );
}
