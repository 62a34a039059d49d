import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { formatEta } from '../lib/format';
import { makeRun, renderWithProviders } from '../test/utils';
import { etaSentence, etaText } from '../lib/queue';
import { QueueNote } from './QueueNote';

const NOW = Date.parse('2026-11-25T10:05:00Z');
const queued = { status: 'queued' as const, started_at: null, finished_at: null, duration_ms: null, exit_code: null, progress: null, summary: null };

describe('QueueNote', () => {
  it('says each kind of wait in words, with the ETA', () => {
    const { rerender, container } = renderWithProviders(
      <QueueNote run={makeRun({ ...queued, id: 5, waiting_for: { kind: 'run', run_id: 4 }, eta_seconds: 150 })} now={NOW} />,
    );
    expect(container).toHaveTextContent('Waits behind run #4 · starts in about 3 min');
    expect(screen.getByRole('link', { name: '#4' })).toHaveAttribute('href', '/runs/4');

    rerender(<QueueNote run={makeRun({ ...queued, waiting_for: { kind: 'hold', environment_id: 11, held_by: 'carol', until: null }, eta_seconds: null })} now={NOW} />);
    expect(container).toHaveTextContent('Waits: env11 is held by carol until released · no start time while the hold lasts');

    rerender(<QueueNote run={makeRun({ ...queued, waiting_for: { kind: 'capacity' }, eta_seconds: 3 })} now={NOW} />);
    expect(container).toHaveTextContent('Waits for a free worker slot · starts any moment now');

    rerender(<QueueNote run={makeRun({ ...queued, environment_id: null, pool: 'staging', waiting_for: { kind: 'pool', pool: 'staging' }, eta_seconds: null })} now={NOW} />);
    expect(container).toHaveTextContent('Waits: every staging environment is busy or held · no estimate yet');
  });

  it('shows nothing for a run that is not queued', () => {
    const { container } = renderWithProviders(<QueueNote run={makeRun({ status: 'running', waiting_for: { kind: 'capacity' } })} now={NOW} />);
    expect(container).toBeEmptyDOMElement();
  });

  it('words ETAs and their absence', () => {
    expect(formatEta(null)).toBeNull();
    expect(formatEta(0)).toBe('any moment now');
    expect(formatEta(41)).toBe('in about 45 s');
    expect(formatEta(600)).toBe('in about 10 min');
    expect(formatEta(4800)).toBe('in about 1 h 20 min');
    expect(formatEta(7200)).toBe('in about 2 h');
    expect(etaText({ eta_seconds: null, waiting_for: { kind: 'hold', until: '2026-11-25T11:00:00Z' } })).toBe('no estimate yet');
    expect(etaSentence({ eta_seconds: 90, waiting_for: { kind: 'run', run_id: 1 } })).toBe('It should start in about 2 min.');
    expect(etaSentence({ eta_seconds: null, waiting_for: { kind: 'hold', until: null } })).toMatch(/until someone releases it/);
  });
});
