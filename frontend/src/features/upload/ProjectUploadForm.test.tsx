import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { json, mockApi, renderWithProviders } from '../../test/utils';
import { ProjectUploadForm } from './ProjectUploadForm';
import { pickedFolder } from './pickedFolder';

function inFolder(path: string, text = 'x') {
  const f = new File([text], path.split('/').at(-1)!);
  Object.defineProperty(f, 'webkitRelativePath', { value: path });
  return f;
}

describe('pickedFolder', () => {
  it('keeps paths inside the picked folder and drops bytecode caches', () => {
    const picked = pickedFolder([inFolder('shop/conftest.py'), inFolder('shop/tests/test_a.py'), inFolder('shop/tests/__pycache__/x.pyc')]);
    expect(picked?.folder).toBe('shop');
    expect(picked?.files.map((f) => f.path)).toEqual(['conftest.py', 'tests/test_a.py']);
  });
});

describe('ProjectUploadForm', () => {
  it('sends one part per file under its path, names the folder, and reports the test files', async () => {
    const { requests } = mockApi({
      'POST /api/test-projects': () =>
        json(
          {
            directory: 'uploads/shop',
            file_count: 2,
            size_bytes: 2,
            test_files: [{ path: 'uploads/shop/tests/test_a.py', directory: 'uploads/shop/tests', size_bytes: 1, modified_at: '2026-11-25T10:00:00Z' }],
          },
          201,
        ),
    });
    const onUploaded = vi.fn();
    renderWithProviders(<ProjectUploadForm onUploaded={onUploaded} />);
    const user = userEvent.setup();
    await user.upload(screen.getByLabelText('Folder'), [inFolder('shop/conftest.py'), inFolder('shop/tests/test_a.py')]);
    expect(screen.getByLabelText('New folder')).toHaveValue('uploads/shop');
    await user.click(screen.getByRole('button', { name: 'Upload project' }));
    await waitFor(() => expect(onUploaded).toHaveBeenCalled());
    expect(await screen.findByText(/1 test file, selected in the New run form/)).toBeInTheDocument();
    const form = await requests[0]!.request.formData();
    expect(form.get('directory')).toBe('uploads/shop');
    expect(form.getAll('file')).toHaveLength(2);
  });

  it('asks for a folder before sending anything, with focus on it', async () => {
    const { requests } = mockApi({});
    renderWithProviders(<ProjectUploadForm />);
    await userEvent.setup().click(screen.getByRole('button', { name: 'Upload project' }));
    expect(screen.getByText('Choose a folder to upload.')).toBeInTheDocument();
    await waitFor(() => expect(screen.getByLabelText('Folder')).toHaveFocus());
    expect(requests).toHaveLength(0);
  });
});
