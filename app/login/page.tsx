import type { Metadata } from "next";
import { AuthShell } from "@/app/ui/auth-shell";
import { ForgetInAddress } from "@/app/ui/forget-in-address";
import { CookiesBlockedNote } from "@/app/ui/cookies-blocked-note";
import { LoggedInNote, loggedInUser } from "@/app/ui/logged-in-note";
import { firstParam, formErrorFromQuery, LOGGED_OUT, LOGIN_FIELDS, STORE_BACK } from "@/app/ui/messages";
import { afterLogin } from "../../lib/api/context";
import { currentRefusal, formDraft, storeCapabilities } from "../../lib/next/session";
import { LoginForm } from "./login-form";

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

/** Why the page was sent here about this browser's session: no longer true once someone is logged in (again, perhaps in another tab). */
const SESSION_NOTES = new Set(["session_expired", "session_ended", "login_not_kept", "unauthenticated"]);

/**
 * What the page says, from its address and who is logged in: the refusal it came back with,
 * unless a login since made it untrue; else that a logout happened (`?out=here|everywhere`).
 */
async function pageNotes(query: Record<string, string | string[] | undefined>) {
  const user = await loggedInUser();
  const refused = await currentRefusal(formErrorFromQuery(query, LOGIN_FIELDS), STORE_BACK);
  const initialError = user && refused.code && SESSION_NOTES.has(refused.code) ? { code: null, fields: {} } : refused;
  // A store that cannot end other sessions never ended them, whatever an address says.
  const out = firstParam(query.out) === "everywhere" && !storeCapabilities().revocable ? "here" : firstParam(query.out);
  const loggedOut = !initialError.code && !user && Object.hasOwn(LOGGED_OUT, out) ? LOGGED_OUT[out] : undefined;
  return { user, initialError, loggedOut };
}

export async function generateMetadata({ searchParams }: { searchParams: SearchParams }): Promise<Metadata> {
  const { initialError, loggedOut } = await pageNotes(await searchParams);
  // Without JavaScript the title is the first thing read after the redirect back here; after a
  // logout, it says that happened.
  return { title: initialError.code ? "Error: Log in" : loggedOut ? "Logged out: Log in" : "Log in" };
}

export default async function LoginPage({ searchParams }: { searchParams: SearchParams }) {
  const query = await searchParams;
  const { user, initialError, loggedOut: out } = await pageNotes(query);
  const { code } = initialError;
  const next = afterLogin(firstParam(query.next));
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
      <CookiesBlockedNote action="log in" />
      <LoggedInNote user={user} next={next} />
      <LoginForm
        initialLogin={draft?.values.login ?? ""}
        passwordCleared={draft?.passwordCleared ?? false}
        initialError={initialError}
        next={next}
        loggedOut={out}
      />
    </AuthShell>
  );
}
