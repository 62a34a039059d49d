import type { ReactNode } from 'react';

interface CardProps {
  title: ReactNode;
  id?: string;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
}

/** A titled panel; the heading labels the section for assistive tech. */
export function Card({ title, id, actions, children, className }: CardProps) {
  const headingId = id ? `${id}-title` : undefined;
  return (
    <section className={`card ${className ?? ''}`.trim()} aria-labelledby={headingId} id={id}>
      <header className="card__header">
        <h2 className="card__title" id={headingId}>
          {title}
        </h2>
        {actions && <div className="card__actions">{actions}</div>}
      </header>
      <div className="card__body">{children}</div>
    </section>
  );
}
