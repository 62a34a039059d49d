// Public surface of the runs feature.
export { NewRunForm } from './NewRunForm';
export { RunsPanel } from './RunsPanel';
export { RunsTable } from './RunsTable';
