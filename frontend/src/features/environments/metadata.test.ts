import { describe, expect, it } from 'vitest';
import { makeEnvironment } from './fixtures';
import { checkDraft, draftOf, parseLabels, patchOf } from './metadata';

const env = makeEnvironment(12, {
  description: 'Staging',
  labels: ['eu', 'staging'],
  url: 'https://s.example.com',
  variables: { REGION: { value: 'eu-west-1', secret: false }, API_KEY: { value: null, secret: true } },
});

describe('environment metadata', () => {
  it('starts from the stored values, a secret empty', () => {
    const draft = draftOf(env);
    expect(draft.labels).toBe('eu staging');
    expect(draft.variables.map((v) => [v.name, v.value, v.secret])).toEqual([
      ['API_KEY', '', true],
      ['REGION', 'eu-west-1', false],
    ]);
    expect(patchOf(draft, env)).toBeNull();
  });

  it('sends only what changed; an empty secret is kept, a removed variable is null', () => {
    const draft = draftOf(env);
    draft.labels = 'staging, payments';
    draft.variables = draft.variables.filter((v) => v.name !== 'REGION');
    draft.variables.push({ key: 999, name: 'TOKEN', value: 't0k', secret: true });
    expect(patchOf(draft, env)).toEqual({ labels: ['payments', 'staging'], variables: { REGION: null, TOKEN: { value: 't0k', secret: true } } });

    const typed = draftOf(env);
    typed.variables[0]!.value = 'new-key';
    typed.url = '';
    expect(patchOf(typed, env)).toEqual({ url: '', variables: { API_KEY: { value: 'new-key', secret: true } } });
  });

  it('checks labels, URL and variable names as the server would', () => {
    const draft = draftOf(env);
    draft.labels = 'staging Staging';
    draft.url = 'ftp://x';
    draft.variables.push({ key: 1000, name: '9BAD', value: 'x', secret: false }, { key: 1001, name: 'REGION', value: 'y', secret: false });
    draft.variables[0]!.secret = false; // API_KEY: stop being secret without its value
    const errors = checkDraft(draft, env);
    expect(errors.labels).toMatch(/“Staging” is not a label/);
    expect(errors.url).toMatch(/http/);
    expect(errors.variables?.[1000]).toMatch(/A name is a letter/);
    expect(errors.variables?.[1001]).toBe('REGION is there twice.');
    expect(errors.variables?.[draft.variables[0]!.key]).toMatch(/Enter the value again/);
    expect(parseLabels(' a,b  c ')).toEqual(['a', 'b', 'c']);
  });
});
