// Public surface of the environments feature.
export { EnvironmentDetails } from './EnvironmentDetails';
export { EnvironmentsGrid } from './EnvironmentsGrid';
