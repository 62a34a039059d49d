// The edit form's rules, apart from React: what the user typed, checked as the
// server would check it, and turned into the smallest PATCH that says it.
import type { Environment, EnvironmentPatch, EnvironmentVariableInput } from '../../api/types';

/** The server's limits (api/domain/environment.go). */
export const LIMITS = { labelLen: 32, labels: 20, description: 500, url: 2048, variables: 50, variableName: 64, variableValue: 4096, holdReason: 500 };

const LABEL_RE = /^[a-z][a-z0-9-]*$/;
const VARIABLE_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** One row of the variables table. `stored` is what the server has under that name, if anything. */
export interface VariableRow {
  key: number;
  name: string;
  /** What the user typed; for a stored secret, empty means "keep it". */
  value: string;
  secret: boolean;
}

export interface MetadataDraft {
  description: string;
  labels: string;
  url: string;
  variables: VariableRow[];
}

let nextKey = 1;
export function newRowKey(): number {
  return nextKey++;
}

/** The form's starting point: what the server has (a secret's value is never sent, so its input starts empty). */
export function draftOf(env: Environment): MetadataDraft {
  return {
    description: env.description,
    labels: env.labels.join(' '),
    url: env.url,
    variables: Object.entries(env.variables)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, v]) => ({ key: newRowKey(), name, value: v.secret ? '' : (v.value ?? ''), secret: v.secret })),
  };
}

/** "staging, eu  payments" → ["staging", "eu", "payments"]. */
export function parseLabels(text: string): string[] {
  return text.split(/[\s,]+/).filter((l) => l !== '');
}

export type DraftErrors = Partial<Record<'description' | 'labels' | 'url', string>> & { variables?: Record<number, string> };

/** What the server would refuse, said before sending (it checks again, and its word is final). */
export function checkDraft(draft: MetadataDraft, env: Environment): DraftErrors {
  const errors: DraftErrors = {};
  if (draft.description.trim().length > LIMITS.description) errors.description = `Use at most ${LIMITS.description} characters.`;
  const labels = parseLabels(draft.labels);
  const bad = labels.find((l) => !LABEL_RE.test(l) || l.length > LIMITS.labelLen);
  const twice = labels.find((l, i) => labels.indexOf(l) !== i);
  if (bad) errors.labels = `“${bad}” is not a label: use a lower-case letter, then letters, digits or -, at most ${LIMITS.labelLen} characters.`;
  else if (twice) errors.labels = `“${twice}” is there twice.`;
  else if (labels.length > LIMITS.labels) errors.labels = `Use at most ${LIMITS.labels} labels.`;
  const url = draft.url.trim();
  if (url !== '' && (!/^https?:\/\/[^\s/]+/i.test(url) || url.length > LIMITS.url || /\s/.test(url))) {
    errors.url = 'Enter an absolute http:// or https:// URL, or leave it empty.';
  }
  const rowErrors: Record<number, string> = {};
  const seen = new Set<string>();
  for (const row of draft.variables) {
    const name = row.name.trim();
    const stored = env.variables[name];
    if (name === '') rowErrors[row.key] = 'Enter a name, or remove the row.';
    else if (!VARIABLE_NAME_RE.test(name) || name.length > LIMITS.variableName)
      rowErrors[row.key] = `A name is a letter or _, then letters, digits or _, at most ${LIMITS.variableName} characters.`;
    else if (seen.has(name)) rowErrors[row.key] = `${name} is there twice.`;
    else if (new TextEncoder().encode(row.value).length > LIMITS.variableValue) rowErrors[row.key] = `Use at most ${LIMITS.variableValue} bytes.`;
    else if (stored?.secret && !row.secret && row.value === '') rowErrors[row.key] = 'Enter the value again to make it not secret (a secret is never shown).';
    else if (!stored?.secret && row.secret && row.value === '' && !stored) rowErrors[row.key] = 'Enter a value.';
    seen.add(name);
  }
  if (draft.variables.length > LIMITS.variables) rowErrors[draft.variables.at(-1)!.key] = `Use at most ${LIMITS.variables} variables.`;
  if (Object.keys(rowErrors).length > 0) errors.variables = rowErrors;
  return errors;
}

/** The members that changed, and only them; null when nothing did. */
export function patchOf(draft: MetadataDraft, env: Environment): EnvironmentPatch | null {
  const patch: EnvironmentPatch = {};
  const description = draft.description.trim();
  if (description !== env.description) patch.description = description;
  const labels = [...new Set(parseLabels(draft.labels))].sort();
  if (labels.join(' ') !== [...env.labels].sort().join(' ')) patch.labels = labels;
  const url = draft.url.trim();
  if (url !== env.url) patch.url = url;
  const variables: Record<string, EnvironmentVariableInput> = {};
  const kept = new Set<string>();
  for (const row of draft.variables) {
    const name = row.name.trim();
    kept.add(name);
    const stored = env.variables[name];
    if (!stored) variables[name] = { value: row.value, secret: row.secret };
    else if (stored.secret) {
      // An empty input keeps the secret; anything typed replaces it.
      if (row.value !== '') variables[name] = { value: row.value, secret: row.secret };
      else if (!row.secret) variables[name] = { value: row.value, secret: false };
    } else if (row.value !== (stored.value ?? '') || row.secret) {
      variables[name] = { value: row.value, secret: row.secret };
    }
  }
  for (const name of Object.keys(env.variables)) if (!kept.has(name)) variables[name] = null;
  if (Object.keys(variables).length > 0) patch.variables = variables;
  return Object.keys(patch).length > 0 ? patch : null;
}
