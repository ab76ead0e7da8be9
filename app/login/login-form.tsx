"use client";

import { useRef, useState, type FormEvent } from "react";
import { postJson } from "@/app/ui/api";
import { Field } from "@/app/ui/field";
import { FormError } from "@/app/ui/form-error";
import { errorText, fieldErrorText, ownerField, LOGIN_FIELDS, type FieldErrors } from "@/app/ui/messages";
import { useErrorFocus } from "@/app/ui/use-error-focus";

type LoginField = (typeof LOGIN_FIELDS)[number];

const LABELS: Record<LoginField, string> = { login: "Username or email", password: "Password" };

type LoginFormProps = {
  initialLogin: string;
  initialError: { code: string | null; fields: FieldErrors };
};

export function LoginForm({ initialLogin, initialError }: LoginFormProps) {
  const [error, setError] = useState(initialError);
  const [pending, setPending] = useState(false);
  // State updates are async, so a fast double click needs a synchronous guard.
  const inFlight = useRef(false);

  const refs = { login: useRef<HTMLInputElement>(null), password: useRef<HTMLInputElement>(null) };
  const focusField = useErrorFocus(refs);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (inFlight.current) return;
    // FormData rather than React state: text typed before hydration exists only in the DOM.
    const values = Object.fromEntries(new FormData(event.currentTarget));
    inFlight.current = true;
    setPending(true);
    // Emptying the live region first makes a repeated identical error be announced again.
    setError({ code: null, fields: {} });

    const result = await postJson("/api/login", values);
    if (result.ok) {
      // A full load, so the welcome page is rendered with the new session cookie.
      window.location.assign("/welcome");
      return;
    }

    inFlight.current = false;
    setPending(false);
    setError({ code: result.code, fields: result.fields });
    if (result.code === "invalid_credentials") {
      // The password is the likelier typo, and leaving a rejected one in place invites resubmitting it.
      if (refs.password.current) refs.password.current.value = "";
    }
    focusField(firstProblem(result.code, result.fields));
  }

  const owner = ownerField(error.code, LOGIN_FIELDS);
  const fieldProps = (name: LoginField) => {
    const code = error.fields[name];
    const owned = owner === name ? error.code : null;
    return {
      name,
      label: LABELS[name],
      defaultValue: name === "login" ? initialLogin : undefined,
      inputRef: refs[name],
      error: code
        ? { code, text: fieldErrorText(name, code) }
        : owned
          ? { code: owned, text: errorText(owned) }
          : null,
    };
  };
  const details = LOGIN_FIELDS.flatMap((name) => {
    const code = error.fields[name];
    return code ? [`${LABELS[name]}: ${fieldErrorText(name, code)}`] : [];
  });
  // Without JavaScript the page arrives with errors already shown; start where the person must act.
  const initialFocus = firstProblem(initialError.code, initialError.fields);

  return (
    <form className="form" method="post" action="/api/login" noValidate onSubmit={onSubmit} aria-busy={pending}>
      <FormError code={error.code} details={details} shownInline={owner !== undefined} />
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
        required
        autoFocus={initialFocus === "password"}
      />
      <button type="submit" className="button button--primary button--block" aria-disabled={pending || undefined}>
        Log in
      </button>
    </form>
  );
}

function firstProblem(code: string | null, fields: FieldErrors): LoginField | null {
  const named = LOGIN_FIELDS.find((name) => fields[name]);
  return named ?? ownerField(code, LOGIN_FIELDS) ?? null;
}
