export { FlakyTests } from './FlakyTests';
export { SlowestTests } from './SlowestTests';
