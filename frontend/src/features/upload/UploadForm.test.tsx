import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { apiError, json, mockApi, renderWithProviders } from '../../test/utils';
import { UploadForm } from './UploadForm';

const directories = {
  items: [
    { path: 'sample-tests', writable: false, file_count: 4 },
    { path: 'uploads/payments', writable: true, file_count: 2 },
  ],
};

function pyFile(name = 'test_new.py') {
  return new File(['def test_ok():\n    assert True\n'], name, { type: 'text/x-python' });
}

async function submit(name = 'test_new.py', directory = 'uploads/payments') {
  const user = userEvent.setup();
  await user.upload(screen.getByLabelText('File'), pyFile(name));
  await user.type(screen.getByLabelText('Directory'), directory);
  await user.click(screen.getByRole('button', { name: 'Upload' }));
  return user;
}

describe('UploadForm', () => {
  it('offers the writable directories', async () => {
    mockApi({ 'GET /api/test-directories': () => json(directories) });
    const { container } = renderWithProviders(<UploadForm />);
    await waitFor(() => expect(container.querySelectorAll('#upload-directory-options option')).toHaveLength(1));
    expect(container.querySelector('#upload-directory-options option')).toHaveAttribute('value', 'uploads/payments');
  });

  it('shows a clear message on 409 and suggests Overwrite', async () => {
    mockApi({
      'GET /api/test-directories': () => json(directories),
      'POST /api/test-files': () => apiError(409, 'conflict', 'uploads/payments/test_new.py already exists.'),
    });
    renderWithProviders(<UploadForm />);
    await submit();
    expect(await screen.findByText('That file already exists')).toBeInTheDocument();
    const alert = screen.getByRole('alert');
    expect(alert).toHaveTextContent('uploads/payments/test_new.py is already in the catalog. Tick “Overwrite” to replace it, or rename your file.');
    // One message, not the server's sentence glued to ours.
    expect(alert).not.toHaveTextContent(/already exists\./);
  });

  it('shows 413 and 400 answers', async () => {
    let status = 413;
    mockApi({
      'GET /api/test-directories': () => json(directories),
      'POST /api/test-files': () =>
        status === 413
          ? apiError(413, 'too_large', 'The file is larger than 1 MiB.')
          : apiError(400, 'invalid', 'The request has invalid fields.', { directory: 'must be under uploads/' }),
    });
    renderWithProviders(<UploadForm />);
    const user = await submit();
    expect(await screen.findByText('The file is too large')).toBeInTheDocument();
    expect(screen.getByText('The file is larger than 1 MiB.')).toBeInTheDocument();

    status = 400;
    await user.click(screen.getByRole('button', { name: 'Upload' }));
    expect(await screen.findByText('must be under uploads/')).toBeInTheDocument();
    expect(screen.getByLabelText('Directory')).toHaveAccessibleDescription(expect.stringContaining('must be under uploads/'));
  });

  it('rejects names pytest will not collect before uploading', async () => {
    const { requests } = mockApi({ 'GET /api/test-directories': () => json(directories) });
    renderWithProviders(<UploadForm />);
    const user = userEvent.setup({ applyAccept: false });
    await user.upload(screen.getByLabelText('File'), pyFile('helpers.py'));
    await user.click(screen.getByRole('button', { name: 'Upload' }));
    expect(screen.getByText('The name must match test_*.py or *_test.py.')).toBeInTheDocument();
    expect(screen.getByText(/Pick a directory or type a new one/)).toBeInTheDocument();
    expect(requests.filter((r) => r.method === 'POST')).toHaveLength(0);
  });

  it('sends multipart form data, invalidates the catalog queries and reports the new file', async () => {
    const stored = { path: 'uploads/e2e/test_new.py', directory: 'uploads/e2e', size_bytes: 31, modified_at: '2026-11-25T10:00:00Z' };
    const { requests } = mockApi({
      'GET /api/test-directories': () => json(directories),
      'POST /api/test-files': () => json(stored, 201),
    });
    const onUploaded = vi.fn();
    const { client } = renderWithProviders(<UploadForm onUploaded={onUploaded} />);
    client.setQueryData(['test-files'], []);
    const invalidate = vi.spyOn(client, 'invalidateQueries');

    await submit('test_new.py', 'uploads/e2e');
    await waitFor(() => expect(onUploaded).toHaveBeenCalledWith(stored));
    expect(invalidate).toHaveBeenCalledWith({ queryKey: ['test-files'] });
    expect(invalidate).toHaveBeenCalledWith({ queryKey: ['test-directories'] });
    // The new file is in the cached catalog at once, before any refetch.
    expect(client.getQueryData(['test-files'])).toEqual([stored]);
    expect(screen.getByText('uploads/e2e/test_new.py')).toBeInTheDocument();

    const post = requests.find((r) => r.method === 'POST')!;
    const form = await post.request.formData();
    expect(form.get('directory')).toBe('uploads/e2e');
    expect(form.get('overwrite')).toBe('false');
    // (jsdom's File loses its name crossing into Node's Request; browsers keep it.)
    expect(await (form.get('file') as Blob).text()).toContain('def test_ok');
  });
});
