import { AuthShell } from "./auth-shell";
import { FormError } from "./form-error";
import { SESSION_UNREADABLE } from "./messages";

/**
 * In place of a page that needs the person's login, when the session cannot be read right now
 * (the store or the database cannot be reached): saying so, rather than sending a logged-in
 * person to the login page as if logged out, or answering an error page.
 */
export function SessionUnavailable({ title }: { title: string }) {
  return (
    <AuthShell
      title={title}
      footer={
        <>
          <a href="">Reload this page</a> · <a href="/login">Log in</a>
        </>
      }
    >
      <div data-testid="session-unavailable">
        <FormError code={SESSION_UNREADABLE} />
      </div>
    </AuthShell>
  );
}
