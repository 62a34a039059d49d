import { Link } from 'react-router';
import { useEnvironment } from '../../api/queries';

/**
 * Why the environment a run waits for is held (`waiting_for` names who and until
 * when, not why): read from the environment itself, with a link to its page.
 */
export function HoldReason({ environmentId }: { environmentId: number }) {
  const hold = useEnvironment(environmentId).data?.hold;
  if (!hold) return null;
  return (
    <>
      {' '}
      (“<span data-field="hold_reason">{hold.reason}</span>”, <Link to={`/environments/${environmentId}`}>see the hold</Link>)
    </>
  );
}
