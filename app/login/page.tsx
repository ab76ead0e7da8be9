import type { Metadata } from "next";
import { AuthShell } from "@/app/ui/auth-shell";
import { ForgetInAddress } from "@/app/ui/forget-in-address";
import { LoggedInNote, loggedInUser } from "@/app/ui/logged-in-note";
import { cleanCode, firstParam, formErrorFromQuery, LOGGED_OUT, LOGIN_FIELDS } from "@/app/ui/messages";
import { afterLogin } from "../../lib/api/context";
import { formDraft } from "../../lib/next/session";
import { LoginForm } from "./login-form";

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export async function generateMetadata({ searchParams }: { searchParams: SearchParams }): Promise<Metadata> {
  const query = await searchParams;
  // Without JavaScript the title is the first thing read after the redirect back here.
  if (cleanCode(firstParam(query.error))) return { title: "Error: Log in" };
  // Read first by a screen reader on arrival: the logout happened.
  return { title: loggedOut(query) ? "Logged out: Log in" : "Log in" };
}

/** What the page says after a logout (`?out=here|everywhere`), if it came from one. */
function loggedOut(query: Record<string, string | string[] | undefined>): string | undefined {
  const out = firstParam(query.out);
  return Object.hasOwn(LOGGED_OUT, out) ? LOGGED_OUT[out] : undefined;
}

/** Why the page was sent here about this browser's session: no longer true once someone is logged in (again, perhaps in another tab). */
const SESSION_NOTES = new Set(["session_expired", "session_ended", "login_not_kept", "unauthenticated"]);

export default async function LoginPage({ searchParams }: { searchParams: SearchParams }) {
  const query = await searchParams;
  const user = await loggedInUser();
  const refused = formErrorFromQuery(query, LOGIN_FIELDS);
  const initialError = user && refused.code && SESSION_NOTES.has(refused.code) ? { code: null, fields: {} } : refused;
  const { code } = initialError;
  const next = afterLogin(firstParam(query.next));
  const out = code || user ? undefined : loggedOut(query);
  // What was typed before a plain form post comes back from the session, never from the URL.
  const draft = code ? await formDraft("login") : null;

  return (
    <AuthShell
      title="Log in to Holdfast"
      subtitle="Welcome back. Use your username or your email."
      footer={
        <>
          New to Holdfast? <a href="/signup">Create an account</a>
        </>
      }
    >
      <ForgetInAddress names={["out"]} />
      <LoggedInNote user={user} next={next} />
      {out ? (
        <p className="form-note" role="status" data-testid="logged-out">
          {out}
        </p>
      ) : null}
      <LoginForm
        initialLogin={draft?.values.login ?? ""}
        passwordCleared={draft?.passwordCleared ?? false}
        initialError={initialError}
        next={next}
      />
    </AuthShell>
  );
}
