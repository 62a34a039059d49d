import { useRef, useState } from 'react';
import { useOnline } from '../api/status';
import type { Run } from '../api/types';
import { Dialog } from '../components/Dialog';
import { NewRunForm, RunToast, RunsPanel } from '../features/runs';
import { ProjectUploadForm, UploadForm } from '../features/upload';
import { useDocumentStatus } from '../lib/useDocumentStatus';

/** "/": the runs table first; New run and Upload open on top of it. The page wires the features together. */
export function RunsPage() {
  const online = useOnline();
  useDocumentStatus('Runs');
  const [selectedFiles, setSelectedFiles] = useState<string[]>([]);
  const [dialog, setDialog] = useState<'new-run' | 'upload' | null>(null);
  const [created, setCreated] = useState<Run | null>(null);
  const newRunButton = useRef<HTMLButtonElement>(null);
  return (
    <>
      <div className="page-title page-title--split">
        <h1>Runs</h1>
        <div className="page-actions">
          <button type="button" className="button" onClick={() => setDialog('upload')} disabled={!online}>
            Upload tests
          </button>
          <button ref={newRunButton} type="button" className="button button--primary" onClick={() => setDialog('new-run')} disabled={!online}>
            New run
          </button>
        </div>
      </div>
      <RunsPanel ownRunId={created?.id} />
      <Dialog open={dialog === 'new-run'} title="New run" onClose={() => setDialog(null)}>
        <NewRunForm
          selectedFiles={selectedFiles}
          onSelectedFilesChange={setSelectedFiles}
          onCreated={(run) => {
            setCreated(run);
            setDialog(null);
          }}
        />
      </Dialog>
      <Dialog open={dialog === 'upload'} title="Upload tests" onClose={() => setDialog(null)}>
        <UploadForm
          onUploaded={(file) => setSelectedFiles((current) => (current.includes(file.path) ? current : [...current, file.path]))}
          onStartRun={() => setDialog('new-run')}
        />
        <hr className="divider" />
        <h3 className="dialog__subtitle">A whole project</h3>
        <ProjectUploadForm
          onUploaded={(project) =>
            setSelectedFiles((current) => [...current, ...project.test_files.map((f) => f.path).filter((p) => !current.includes(p))])
          }
        />
      </Dialog>
      <div className="toasts">{created && <RunToast key={created.id} run={created} onDismiss={() => setCreated(null)} />}</div>
    </>
  );
}
