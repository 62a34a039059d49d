export interface Picked {
  /** The picked folder's own name (the first segment of every webkitRelativePath). */
  folder: string;
  files: { path: string; file: File }[];
  bytes: number;
}

/** A picked folder's files under their paths inside it ("shop/tests/x.py" → "tests/x.py"). */
export function pickedFolder(list: FileList | File[]): Picked | null {
  const all = [...list];
  if (all.length === 0) return null;
  const rel = (f: File) => (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
  const folder = rel(all[0]!).split('/')[0] ?? '';
  const files = all
    .map((file) => ({ path: rel(file).split('/').slice(1).join('/') || file.name, file }))
    // Bytecode caches are rebuilt by Python and refused by the server.
    .filter(({ path }) => !path.split('/').includes('__pycache__') && !path.endsWith('.pyc'));
  return { folder, files, bytes: files.reduce((n, f) => n + f.file.size, 0) };
}

