import { describe, expect, it } from 'vitest';
import { ApiError, describeApiError, networkError, TOKEN_REQUIRED_MESSAGE } from './errors';

describe('describeApiError', () => {
  it('has one network check: no answer at all', () => {
    const d = describeApiError(networkError(new TypeError('Failed to fetch')), { failed: 'The run was not started' });
    expect(d).toMatchObject({ title: 'The run was not started', isNetwork: true, fields: {} });
    expect(d.message).toMatch(/Cannot reach the Baton API/);
    // An HTTP answer with status 0-like oddities is not a network error; only code "network" is.
    expect(describeApiError(new ApiError(502, 'unknown', 'Bad gateway'), { failed: 'x' }).isNetwork).toBe(false);
  });

  it('explains a missing token', () => {
    expect(describeApiError(new ApiError(401, 'unauthorized', 'token'), { failed: 'x' }).message).toBe(TOKEN_REQUIRED_MESSAGE);
  });

  it('leaves shown fields to the form and names the others, never as bare fragments', () => {
    const err = new ApiError(400, 'invalid', 'The request has invalid fields.', {
      requested_by: 'must not be empty',
      environment_id: 'must be between 1 and 100',
    });
    const onlyShown = describeApiError(err, { failed: 'f', shownFields: ['requested_by', 'environment_id'] });
    expect(onlyShown.message).toBeNull();
    expect(onlyShown.fields).toEqual({ requested_by: 'must not be empty', environment_id: 'must be between 1 and 100' });

    const someHidden = describeApiError(err, { failed: 'f', shownFields: ['requested_by'] });
    expect(someHidden.fields).toEqual({ requested_by: 'must not be empty' });
    expect(someHidden.message).toBe('Environment: must be between 1 and 100.');
  });

  it('lets the caller explain a status better, else uses the server message as a sentence', () => {
    const conflict = new ApiError(409, 'conflict', 'exists');
    expect(describeApiError(conflict, { failed: 'f', byStatus: { 409: { title: 'T', message: 'M' } } })).toMatchObject({ title: 'T', message: 'M' });
    expect(describeApiError(conflict, { failed: 'f', byStatus: { 409: { title: 'T' } } }).message).toBe('Exists.');
    expect(describeApiError(new ApiError(500, 'internal', 'internal error'), { failed: 'f' }).message).toBe('Internal error.');
    expect(describeApiError(new Error('boom'), { failed: 'f' }).message).toBe('Boom.');
  });
});
