import { randomUUID } from "node:crypto";
import type { Metadata } from "next";
import { AuthShell } from "@/app/ui/auth-shell";
import { CookiesBlockedNote } from "@/app/ui/cookies-blocked-note";
import { LoggedInNote, loggedInUser } from "@/app/ui/logged-in-note";
import { cleanCode, firstParam, formErrorFromQuery, SIGNUP_FIELDS, STORE_BACK } from "@/app/ui/messages";
import { captchaPassLeftMs, captchaPassTtlMs, captchaTtlMs, currentRefusal, formDraft, storeCapabilities } from "../../lib/next/session";
import { SignupForm } from "./signup-form";

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export async function generateMetadata({ searchParams }: { searchParams: SearchParams }): Promise<Metadata> {
  const query = await searchParams;
  // Without JavaScript the title is the first thing read after the redirect back here.
  return { title: cleanCode(firstParam(query.error)) ? "Error: Create account" : "Create account" };
}

export default async function SignupPage({ searchParams }: { searchParams: SearchParams }) {
  const query = await searchParams;
  const refused = await currentRefusal(formErrorFromQuery(query, SIGNUP_FIELDS), STORE_BACK);
  // A plain form post carries no proof of work: the server's `altcha.required` means no JavaScript.
  const noJavaScript = refused.code === "invalid_input" && /(^|,)altcha\.required(,|$)/.test(firstParam(query.fields));
  const code = noJavaScript ? "javascript_required" : refused.code;
  // What was typed before a plain form post comes back from the session, never from the URL.
  const draft = code || firstParam(query.captcha) === "new" ? await formDraft("signup") : null;
  const user = await loggedInUser();
  const username = draft?.values.username ?? "";
  const email = draft?.values.email ?? "";

  return (
    <AuthShell
      title="Create your account"
      subtitle={storeCapabilities().revocable ? "One account, one password, sessions you control." : "One account, one password."}
      footer={
        <>
          Already have an account? <a href="/login">Log in</a>
        </>
      }
    >
      <CookiesBlockedNote action="sign up" />
      <LoggedInNote user={user} signup />
      <SignupForm
        initialValues={{ username, email }}
        initialError={{ ...refused, code }}
        captchaNonce={randomUUID().slice(0, 8)}
        passwordCleared={draft?.passwordCleared ?? false}
        captchaPassLeftMs={code !== null ? await captchaPassLeftMs() : 0}
        passTtlMs={captchaPassTtlMs()}
        captchaTtlMs={captchaTtlMs()}
        loggedInAtLoad={user !== null}
      />
    </AuthShell>
  );
}
