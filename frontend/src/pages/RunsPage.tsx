import { useState } from 'react';
import { Card } from '../components/Card';
import { NewRunForm, RunsPanel } from '../features/runs';
import { UploadForm } from '../features/upload';

/** "/": start a run, upload a test, and the runs table. The page wires the features together. */
export function RunsPage() {
  const [selectedFiles, setSelectedFiles] = useState<string[]>([]);
  return (
    <>
      <h1 className="sr-only">Runs</h1>
      <div className="runs-layout">
        <Card title="New run" id="new-run" className="runs-layout__main">
          <NewRunForm selectedFiles={selectedFiles} onSelectedFilesChange={setSelectedFiles} />
        </Card>
        <Card title="Upload test" id="upload-test" className="runs-layout__side">
          <UploadForm
            onUploaded={(file) => setSelectedFiles((current) => (current.includes(file.path) ? current : [...current, file.path]))}
          />
        </Card>
      </div>
      <Card title="Runs" id="runs">
        <RunsPanel />
      </Card>
    </>
  );
}
