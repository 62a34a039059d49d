export { EnvironmentInsights } from './EnvironmentInsights';
export { contended } from './contention';
