import { useRef, useState, type FormEvent } from 'react';
import { useFocusFirstInvalid } from '../../lib/useFocusFirstInvalid';
import { describeApiError } from '../../api/errors';
import { useUploadTestProject } from '../../api/mutations';
import { useOnline } from '../../api/status';
import type { TestProject } from '../../api/types';
import { Alert } from '../../components/Alert';
import { FieldError } from '../../components/FieldError';
import { TextField } from '../../components/TextField';
import { formatBytes, pluralize } from '../../lib/format';
import { pickedFolder, type Picked } from './pickedFolder';

const FIELDS = ['directory', 'file', 'archive', 'overwrite'] as const;
type Field = (typeof FIELDS)[number];
type FieldErrors = Partial<Record<Field, string>>;

/** A whole test project (conftest.py, helpers, pytest.ini, …): a folder from disk or one .zip / .tar.gz. */
export function ProjectUploadForm({ onUploaded }: { onUploaded?: (project: TestProject) => void }) {
  const online = useOnline();
  const formRef = useRef<HTMLFormElement>(null);
  const [kind, setKind] = useState<'folder' | 'archive'>('folder');
  const [picked, setPicked] = useState<Picked | null>(null);
  const [archive, setArchive] = useState<File | null>(null);
  const [directory, setDirectory] = useState('');
  const [overwrite, setOverwrite] = useState(false);
  const [inputKey, setInputKey] = useState(0);
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<{ title: string; message: string } | null>(null);
  const [uploaded, setUploaded] = useState<TestProject | null>(null);
  const focusFirstInvalid = useFocusFirstInvalid(formRef);

  const mutation = useUploadTestProject({
    mutationConfig: {
      onSuccess: (project) => {
        setUploaded(project);
        setPicked(null);
        setArchive(null);
        setOverwrite(false);
        setInputKey((k) => k + 1);
        onUploaded?.(project);
      },
      onError: (err, vars) => {
        const described = describeApiError(err, {
          failed: 'The project was not uploaded',
          shownFields: FIELDS,
          byStatus: {
            409: {
              title: 'That folder already exists',
              message: `${vars.directory} is already there. Tick “Replace” to swap it for this project, or pick another folder name.`,
            },
            413: { title: 'The project is too large' },
          },
        });
        setFieldErrors(described.fields);
        setFailure(described.message ? { title: described.title, message: described.message } : null);
        focusFirstInvalid();
      },
    },
  });

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setUploaded(null);
    setFailure(null);
    const errors: FieldErrors = {};
    const dir = directory.trim().replace(/^\/+|\/+$/g, '');
    if (kind === 'folder' && (!picked || picked.files.length === 0)) errors.file = 'Choose a folder to upload.';
    if (kind === 'archive' && !archive) errors.archive = 'Choose a .zip or .tar.gz file.';
    else if (kind === 'archive' && archive && !/\.(zip|tar\.gz|tgz)$/i.test(archive.name)) errors.archive = 'Use a .zip or .tar.gz file.';
    if (dir === '') errors.directory = 'Name the new folder, e.g. uploads/shop.';
    setFieldErrors(errors);
    if (Object.keys(errors).length > 0) {
      focusFirstInvalid();
      return;
    }
    mutation.mutate(
      kind === 'folder'
        ? { directory: dir, overwrite, files: picked!.files }
        : { directory: dir, overwrite, archive: archive! },
    );
  };

  const err = (f: Field) => `project-${f}-error`;
  return (
    <form className="form" onSubmit={onSubmit} noValidate aria-label="Upload project" ref={formRef}>
      <fieldset className="choice">
        <legend className="field__label">Upload</legend>
        <label>
          <input type="radio" name="project-kind" checked={kind === 'folder'} onChange={() => setKind('folder')} /> A folder
        </label>
        <label>
          <input type="radio" name="project-kind" checked={kind === 'archive'} onChange={() => setKind('archive')} /> A .zip or .tar.gz
        </label>
      </fieldset>
      {kind === 'folder' ? (
        <div className="field">
          <label htmlFor="project-folder" className="field__label">
            Folder
          </label>
          <input
            key={`folder-${inputKey}`}
            id="project-folder"
            type="file"
            multiple
            className="input input--file"
            ref={(el) => el?.setAttribute('webkitdirectory', '')}
            onChange={(e) => {
              const next = e.target.files ? pickedFolder(e.target.files) : null;
              setPicked(next);
              if (next && directory.trim() === '') setDirectory(`uploads/${next.folder}`);
              setFieldErrors(({ file: _f, ...rest }) => rest);
            }}
            aria-invalid={fieldErrors.file ? true : undefined}
            aria-describedby={[fieldErrors.file ? err('file') : '', 'project-folder-hint'].filter(Boolean).join(' ')}
          />
          <p className="field-hint" id="project-folder-hint">
            {picked
              ? `${picked.folder}: ${pluralize(picked.files.length, 'file')}, ${formatBytes(picked.bytes)}.`
              : 'The project root: conftest.py, helpers, pytest.ini and data files come along.'}
          </p>
          <FieldError id={err('file')} message={fieldErrors.file} />
        </div>
      ) : (
        <div className="field">
          <label htmlFor="project-archive" className="field__label">
            Archive
          </label>
          <input
            key={`archive-${inputKey}`}
            id="project-archive"
            type="file"
            accept=".zip,.tar.gz,.tgz,application/zip,application/gzip"
            className="input input--file"
            onChange={(e) => {
              const f = e.target.files?.[0] ?? null;
              setArchive(f);
              if (f && directory.trim() === '') setDirectory(`uploads/${f.name.replace(/\.(zip|tar\.gz|tgz)$/i, '')}`);
              setFieldErrors(({ archive: _a, ...rest }) => rest);
            }}
            aria-invalid={fieldErrors.archive ? true : undefined}
            aria-describedby={fieldErrors.archive ? err('archive') : undefined}
          />
          <FieldError id={err('archive')} message={fieldErrors.archive} />
        </div>
      )}
      <TextField
        id="project-directory"
        label="New folder"
        placeholder="uploads/shop"
        value={directory}
        autoComplete="off"
        spellCheck={false}
        onValueChange={(value) => {
          setDirectory(value);
          setFieldErrors(({ directory: _d, ...rest }) => rest);
        }}
        error={fieldErrors.directory}
        errorId={err('directory')}
      />
      <div className="field field--checkbox">
        <input id="project-overwrite" type="checkbox" checked={overwrite} onChange={(e) => setOverwrite(e.target.checked)} />
        <label htmlFor="project-overwrite">Replace the folder if it exists</label>
      </div>
      {failure && (
        <Alert tone="error" title={failure.title} onDismiss={() => setFailure(null)}>
          {failure.message}
        </Alert>
      )}
      {uploaded && (
        <Alert tone="success" onDismiss={() => setUploaded(null)}>
          Uploaded <code>{uploaded.directory}</code>: {pluralize(uploaded.file_count, 'file')}, {pluralize(uploaded.test_files.length, 'test file')}
          {onUploaded && uploaded.test_files.length > 0 ? ', selected in the New run form.' : '.'}
        </Alert>
      )}
      <div className="form__actions">
        <button type="submit" className="button" disabled={mutation.isPending || !online}>
          {mutation.isPending ? 'Uploading…' : 'Upload project'}
        </button>
      </div>
    </form>
  );
}
