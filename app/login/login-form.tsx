"use client";

import { useState } from "react";
import { loggedOutHere, type ApiFailure } from "@/app/ui/api";
import { Field, fieldInput } from "@/app/ui/field";
import { FormError } from "@/app/ui/form-error";
import { fieldErrors, firstProblem, useJsonForm, type FormErrorState } from "@/app/ui/form-state";
import { LOGIN_FIELDS, LOGIN_NOT_KEPT } from "@/app/ui/messages";
import { useErrorFocus } from "@/app/ui/use-error-focus";

type LoginField = (typeof LOGIN_FIELDS)[number];

/**
 * A login succeeds on the server whether or not the browser keeps its cookie; one that blocks
 * cookies would land on /welcome, be sent back here, and see nothing. So the login is checked
 * first, and a login this browser did not keep is named as such.
 */
async function cookieCameBack(): Promise<ApiFailure | null> {
  return (await loggedOutHere()) ? { code: LOGIN_NOT_KEPT, fields: {} } : null;
}

const LABELS: Record<LoginField, string> = { login: "Username or email", password: "Password" };
/** The banner's text, which a refused login's fields name. */
const REFUSAL_ID = "login-refusal";

type LoginFormProps = {
  initialLogin: string;
  /** The page to land on after the login (one of ours: lib/api/context.ts's AFTER_LOGIN). */
  next: string;
  initialError: FormErrorState;
  /** The page came back from a plain form post that had a password in it, which is never kept. */
  passwordCleared: boolean;
  /** That a logout just happened, and how far it reached: said until an attempt here says something else. */
  loggedOut?: string;
};

/** Where the person must act: a named field, or the password after a refused login. */
function problemField(code: string | null, fields: FormErrorState["fields"]): LoginField | null {
  return firstProblem(LOGIN_FIELDS, code, fields) ?? (code === "invalid_credentials" ? "password" : null);
}

export function LoginForm({ initialLogin, initialError, passwordCleared, next, loggedOut }: LoginFormProps) {
  const focusField = useErrorFocus();
  // The logout note is news until the person tries to log in here.
  const [tried, setTried] = useState(false);
  const { error, pending, onSubmit } = useJsonForm("/api/login", initialError, (failure) => {
    const password = fieldInput("password");
    if (failure.code === "invalid_credentials" && password) {
      // The password is the likelier typo, and leaving a rejected one in place invites resubmitting it.
      password.value = "";
    }
    focusField(problemField(failure.code, failure.fields));
  }, undefined, { confirm: cookieCameBack, success: next });

  const { owner, errorFor, details } = fieldErrors(LOGIN_FIELDS, LABELS, error);
  // A refused login names neither field alone (that would say which of the two was wrong): both
  // are marked invalid, and both point at the banner that says so.
  const refused = error.code === "invalid_credentials";
  const fieldProps = (name: LoginField) => ({
    name,
    label: LABELS[name],
    defaultValue: name === "login" ? initialLogin : undefined,
    error: errorFor(name),
    refusedBy: refused ? REFUSAL_ID : undefined,
  });
  // Without JavaScript the page arrives with errors already shown; start where the person must act.
  const initialFocus = problemField(initialError.code, initialError.fields);

  return (
    <form
      className="form"
      method="post"
      action={next === "/welcome" ? "/api/login" : `/api/login?next=${encodeURIComponent(next)}`}
      noValidate
      onSubmit={(event) => {
        setTried(true);
        onSubmit(event);
      }}
      aria-busy={pending}
    >
      {/* Said to screen readers while the login is checked (a hash can take a moment). */}
      <p className="visually-hidden" role="status" data-testid="login-pending">
        {pending ? "Logging in…" : ""}
      </p>
      {loggedOut && !tried ? (
        <p className="form-note" role="status" data-testid="logged-out">
          {loggedOut}
        </p>
      ) : null}
      <FormError code={error.code} retryAfter={error.retryAfter} details={details} shownInline={owner !== undefined} textId={REFUSAL_ID} />
      {next === "/welcome" ? null : <input type="hidden" name="next" value={next} />}
      <Field
        {...fieldProps("login")}
        type="text"
        autoComplete="username"
        autoCapitalize="none"
        spellCheck={false}
        required
        autoFocus={initialFocus === "login"}
      />
      <Field
        {...fieldProps("password")}
        type="password"
        autoComplete="current-password"
        hint={passwordCleared ? "For your safety the password you typed was not kept: please type it again." : undefined}
        required
        autoFocus={initialFocus === "password"}
      />
      <button type="submit" className="button button--primary button--block" aria-disabled={pending || undefined}>
        Log in
      </button>
    </form>
  );
}
