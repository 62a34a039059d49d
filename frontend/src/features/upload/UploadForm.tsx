import { useRef, useState, type FormEvent } from 'react';
import { useFocusFirstInvalid } from '../../lib/useFocusFirstInvalid';
import { describeApiError } from '../../api/errors';
import { useUploadTestFile } from '../../api/mutations';
import { useTestDirectories } from '../../api/queries';
import { useOnline } from '../../api/status';
import type { TestFile } from '../../api/types';
import { Alert } from '../../components/Alert';
import { FieldError } from '../../components/FieldError';
import { TextField } from '../../components/TextField';
import { formatBytes } from '../../lib/format';

const FIELDS = ['file', 'directory', 'overwrite'] as const;
type UploadField = (typeof FIELDS)[number];
type FieldErrors = Partial<Record<UploadField, string>>;

const TEST_FILE_NAME = /^(test_.*|.*_test)\.py$/;

interface UploadFormProps {
  /** Called with the stored file once the catalog was refreshed. */
  onUploaded?: (file: TestFile) => void;
  /** Offers "Start a run with it" after an upload. */
  onStartRun?: () => void;
}

interface Failure {
  title: string;
  message: string;
}

function describeFailure(err: unknown, fileName: string, directory: string): { fields: FieldErrors; failure: Failure | null } {
  const described = describeApiError(err, {
    failed: 'Upload failed',
    shownFields: FIELDS,
    byStatus: {
      409: {
        title: 'That file already exists',
        message: `${directory}/${fileName} is already in the catalog. Tick “Overwrite” to replace it, or rename your file.`,
      },
      413: { title: 'The file is too large' },
    },
  });
  return { fields: described.fields, failure: described.message ? { title: described.title, message: described.message } : null };
}

/** File + directory (existing writable one or a new uploads/... path) + overwrite → POST /api/test-files. */
export function UploadForm({ onUploaded, onStartRun }: UploadFormProps) {
  const online = useOnline();
  const formRef = useRef<HTMLFormElement>(null);
  const focusFirstInvalid = useFocusFirstInvalid(formRef);
  const directories = useTestDirectories();
  const [file, setFile] = useState<File | null>(null);
  const [fileInputKey, setFileInputKey] = useState(0);
  const [directory, setDirectory] = useState('');
  const [overwrite, setOverwrite] = useState(false);
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<Failure | null>(null);
  const [uploaded, setUploaded] = useState<TestFile | null>(null);

  const mutation = useUploadTestFile({
    mutationConfig: {
      onSuccess: (stored) => {
        setUploaded(stored);
        setFile(null);
        setOverwrite(false);
        setFileInputKey((k) => k + 1); // clears the native file input
        // Select it first, so the checkbox appears already ticked when the
        // refreshed catalog renders it.
        onUploaded?.(stored);
      },
      onError: (err, vars) => {
        const name = vars.file instanceof File ? vars.file.name : 'the file';
        const { fields, failure: f } = describeFailure(err, name, vars.directory);
        setFieldErrors(fields);
        setFailure(f);
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
    if (!file) errors.file = 'Choose a file to upload.';
    else if (!TEST_FILE_NAME.test(file.name)) errors.file = 'The name must match test_*.py or *_test.py.';
    if (dir === '') errors.directory = 'Pick a directory or type a new one, e.g. uploads/payments.';
    setFieldErrors(errors);
    if (!file || Object.keys(errors).length > 0) {
      focusFirstInvalid();
      return;
    }
    mutation.mutate({ file, directory: dir, overwrite: overwrite ? 'true' : 'false' });
  };

  const writable = (directories.data ?? []).filter((d) => d.writable);
  const err = (f: UploadField) => `upload-${f}-error`;

  return (
    <form className="form" onSubmit={onSubmit} noValidate aria-label="Upload test" ref={formRef}>
      <div className="form__row">
        <div className="field">
          <label htmlFor="upload-file" className="field__label">
            File
          </label>
          <input
            key={fileInputKey}
            id="upload-file"
            type="file"
            accept=".py,text/x-python"
            className="input input--file"
            onChange={(e) => {
              setFile(e.target.files?.[0] ?? null);
              setFieldErrors(({ file: _f, ...rest }) => rest);
            }}
            aria-invalid={fieldErrors.file ? true : undefined}
            aria-describedby={[fieldErrors.file ? err('file') : '', 'upload-file-hint'].filter(Boolean).join(' ')}
          />
          <p className="field-hint" id="upload-file-hint">
            A pytest file named <code>test_*.py</code> or <code>*_test.py</code>
            {file ? ` · ${formatBytes(file.size)}` : ''}.
          </p>
          <FieldError id={err('file')} message={fieldErrors.file} />
        </div>
        <TextField
          id="upload-directory"
          label="Directory"
          list="upload-directory-options"
          placeholder="uploads/payments"
          value={directory}
          autoComplete="off"
          spellCheck={false}
          onValueChange={(value) => {
            setDirectory(value);
            setFieldErrors(({ directory: _d, ...rest }) => rest);
          }}
          error={fieldErrors.directory}
          errorId={err('directory')}
          hint={
            directories.isError && !directories.data
              ? 'Could not load the existing directories; you can still type one.'
              : writable.length > 0
                ? `Pick one of ${writable.length} writable directories or type a new one under uploads/.`
                : 'Type a new directory under uploads/, e.g. uploads/payments.'
          }
          hintId="upload-directory-hint"
        >
          <datalist id="upload-directory-options">
            {writable.map((d) => (
              <option key={d.path} value={d.path}>
                {`${d.file_count} file${d.file_count === 1 ? '' : 's'}`}
              </option>
            ))}
          </datalist>
        </TextField>
      </div>
      <div className="field field--checkbox">
        <input
          id="upload-overwrite"
          type="checkbox"
          checked={overwrite}
          onChange={(e) => setOverwrite(e.target.checked)}
          aria-describedby={fieldErrors.overwrite ? err('overwrite') : undefined}
        />
        <label htmlFor="upload-overwrite">Overwrite an existing file of the same name</label>
        <FieldError id={err('overwrite')} message={fieldErrors.overwrite} />
      </div>
      {failure && (
        <Alert tone="error" title={failure.title} onDismiss={() => setFailure(null)}>
          {failure.message}
        </Alert>
      )}
      {uploaded && (
        <Alert tone="success" onDismiss={() => setUploaded(null)}>
          Uploaded <code>{uploaded.path}</code>
          {onUploaded ? ' — it is selected in the New run form.' : '.'}
          {onStartRun && (
            <>
              {' '}
              <button type="button" className="button button--link" onClick={onStartRun}>
                Start a run with it
              </button>
            </>
          )}
        </Alert>
      )}
      <div className="form__actions">
        <button type="submit" className="button" disabled={mutation.isPending || !online}>
          {mutation.isPending ? 'Uploading…' : 'Upload'}
        </button>
      </div>
    </form>
  );
}
