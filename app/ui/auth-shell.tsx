import type { ReactNode } from "react";

type AuthShellProps = {
  title: string;
  subtitle?: ReactNode;
  children: ReactNode;
  footer?: ReactNode;
};

/** The branded, centred card every account page sits in. */
export function AuthShell({ title, subtitle, children, footer }: AuthShellProps) {
  return (
    <main className="shell">
      <header className="brand">
        <Logo />
        <div>
          <p className="brand__name">Holdfast</p>
          <p className="brand__tagline">Sign-in that holds fast.</p>
        </div>
      </header>
      <section className="card" aria-labelledby="card-title">
        <h1 className="card__title" id="card-title">
          {title}
        </h1>
        {subtitle ? <p className="card__subtitle">{subtitle}</p> : null}
        {children}
      </section>
      {footer ? <p className="shell__footer">{footer}</p> : null}
    </main>
  );
}

function Logo() {
  return (
    <svg className="brand__logo" viewBox="0 0 40 40" aria-hidden="true" focusable="false">
      <rect width="40" height="40" rx="10" fill="var(--accent)" />
      <path
        d="M20 9v17m0 0c-5.5 0-8.5-3.2-9-6.5M20 26c5.5 0 8.5-3.2 9-6.5M14.5 14h11M20 26v5"
        fill="none"
        stroke="#fff"
        strokeWidth="2.6"
        strokeLinecap="round"
        strokeLinejoin="round"
      />
      <circle cx="20" cy="8.5" r="2.4" fill="none" stroke="#fff" strokeWidth="2.2" />
    </svg>
  );
}
