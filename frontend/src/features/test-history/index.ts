export { TestHistory } from './TestHistory';
