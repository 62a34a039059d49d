// Public surface of the runs feature.
export { NewRunForm } from './NewRunForm';
export { RunToast } from './RunToast';
export { RunsPanel } from './RunsPanel';
export { RunsTable } from './RunsTable';
