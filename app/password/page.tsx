import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { connection } from "next/server";
import { AuthShell } from "@/app/ui/auth-shell";
import { cleanCode, firstParam, formErrorFromQuery, PASSWORD_FIELDS, STORE_BACK } from "@/app/ui/messages";
import { currentRefusal, currentUser, loginRedirect, storeCapabilities, UNAVAILABLE } from "../../lib/next/session";
import { SessionUnavailable } from "@/app/ui/session-unavailable";
import { PasswordForm } from "./password-form";

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export async function generateMetadata({ searchParams }: { searchParams: SearchParams }): Promise<Metadata> {
  const query = await searchParams;
  // Without JavaScript the title is the first thing read after the redirect back here.
  return { title: cleanCode(firstParam(query.error)) ? "Error: Change password" : "Change password" };
}

export default async function PasswordPage({ searchParams }: { searchParams: SearchParams }) {
  // Who is signed in is only known per request; never prerender or cache this page.
  await connection();
  const user = await currentUser();
  if (user === UNAVAILABLE) return <SessionUnavailable title="Change your password" />;
  const from = firstParam((await searchParams).from);
  if (!user) redirect(await loginRedirect("/password", from));
  // Logged in: the mark of a plain login post has done its work; a reload or a bookmark of the
  // page should not carry it (it would read as a refused cookie once logged out).
  if (from === "login") redirect("/password");
  const { revocable } = storeCapabilities();
  const query = await searchParams;

  return (
    <AuthShell
      title="Change your password"
      subtitle={
        revocable
          ? "Your sessions on other browsers and devices end when it changes; this one stays logged in."
          : "This browser stays logged in. Sessions on other browsers and devices stay logged in until they expire."
      }
      footer={<a href="/welcome">Back to your account</a>}
    >
      <PasswordForm username={user.username} initialError={await currentRefusal(formErrorFromQuery(query, PASSWORD_FIELDS), STORE_BACK)} />
    </AuthShell>
  );
}
