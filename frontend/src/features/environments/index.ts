// Public surface of the environments feature.
export { EnvironmentsGrid } from './EnvironmentsGrid';
