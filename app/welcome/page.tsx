import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { connection } from "next/server";
import { currentRefusal, currentUser, loginRedirect, passwordJustChanged, storeCapabilities, UNAVAILABLE } from "../../lib/next/session";
import { SessionUnavailable } from "@/app/ui/session-unavailable";
import { AuthShell } from "@/app/ui/auth-shell";
import { cleanCode, firstParam, STORE_BACK } from "@/app/ui/messages";
import { ForgetInAddress } from "@/app/ui/forget-in-address";
import { emailForDisplay } from "../../lib/validation";
import { LogoutButtons } from "./logout-buttons";
import "./welcome.css";

export const metadata: Metadata = { title: "Welcome" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export default async function WelcomePage({ searchParams }: { searchParams: SearchParams }) {
  // Who is signed in is only known per request; never prerender or cache this page.
  await connection();
  const user = await currentUser();
  if (user === UNAVAILABLE) return <SessionUnavailable title="Your account" />;
  const from = firstParam((await searchParams).from);
  if (!user) redirect(await loginRedirect("/welcome", from));
  // Logged in: the mark of a plain login post has done its work; a reload or a bookmark of the
  // page should not carry it (it would read as a refused cookie once logged out).
  if (from === "login") redirect("/welcome");
  const { revocable } = storeCapabilities();
  const query = await searchParams;
  // Said only when this session did change it: a link to ?password=changed alone says nothing.
  const passwordChanged = query.password === "changed" && (await passwordJustChanged());

  return (
    <AuthShell title={`Welcome, ${user.username}`} subtitle="You are logged in to Holdfast.">
      <ForgetInAddress names={["password"]} />
      {passwordChanged ? (
        <p className="account__notice" role="status" data-testid="password-changed">
          {revocable
            ? "Your password was changed, and your sessions on other browsers and devices were ended."
            : "Your password was changed. Sessions on other browsers and devices stay logged in until they expire."}
        </p>
      ) : null}
      <dl className="account">
        <div className="account__row">
          <dt>Username</dt>
          <dd>{user.username}</dd>
        </div>
        <div className="account__row">
          <dt>Email</dt>
          <dd data-testid="user-email">{emailForDisplay(user.email)}</dd>
        </div>
      </dl>
      <p className="account__link">
        <a href="/password">Change password</a>
      </p>
      <LogoutButtons canEndOtherSessions={revocable} initialError={(await currentRefusal({ code: cleanCode(firstParam(query.error)) }, STORE_BACK)).code} />
    </AuthShell>
  );
}
