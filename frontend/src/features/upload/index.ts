// Public surface of the upload feature.
export { UploadForm } from './UploadForm';
