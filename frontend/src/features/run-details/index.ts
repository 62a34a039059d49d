// Public surface of the run-details feature.
export { RunDetails } from './RunDetails';
