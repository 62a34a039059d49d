import { useState } from 'react';

/**
 * Tells screen readers, politely and once, when `status` changes: the region's
 * text changes only on a change of status, never on a poll that brings the same one.
 * The first value is not announced (the page itself says it).
 */
export function StatusAnnouncer({ status, message }: { status: string | undefined; message: string }) {
  const [seen, setSeen] = useState(status);
  const [text, setText] = useState('');
  if (status !== seen) {
    setSeen(status);
    if (seen !== undefined && status !== undefined) setText(message);
  }
  return (
    <p className="sr-only" role="status" data-testid="status-announcer">
      {text}
    </p>
  );
}
