import type { Metadata } from "next";
import { AuthShell } from "@/app/ui/auth-shell";
import { LoggedInNote } from "@/app/ui/logged-in-note";
import { cleanCode, firstParam, formErrorFromQuery, LOGIN_FIELDS } from "@/app/ui/messages";
import { afterLogin } from "../../lib/api/context";
import { formDraft } from "../../lib/next/session";
import { LoginForm } from "./login-form";

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export async function generateMetadata({ searchParams }: { searchParams: SearchParams }): Promise<Metadata> {
  const query = await searchParams;
  // Without JavaScript the title is the first thing read after the redirect back here.
  return { title: cleanCode(firstParam(query.error)) ? "Error: Log in" : "Log in" };
}

export default async function LoginPage({ searchParams }: { searchParams: SearchParams }) {
  const query = await searchParams;
  const initialError = formErrorFromQuery(query, LOGIN_FIELDS);
  const { code } = initialError;
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
      <LoggedInNote />
      <LoginForm
        initialLogin={draft?.values.login ?? ""}
        passwordCleared={draft?.passwordCleared ?? false}
        initialError={initialError}
        next={afterLogin(firstParam(query.next))}
      />
    </AuthShell>
  );
}
