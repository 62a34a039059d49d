// Public surface of the upload feature.
export { ProjectUploadForm } from './ProjectUploadForm';
export { UploadForm } from './UploadForm';
