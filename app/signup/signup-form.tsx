"use client";

import { useCallback, useRef, useState, type FormEvent } from "react";
import { postJson } from "@/app/ui/api";
import { Captcha } from "@/app/ui/captcha";
import { Field } from "@/app/ui/field";
import { FormError } from "@/app/ui/form-error";
import { errorText, fieldErrorText, ownerField, SIGNUP_FIELDS, type FieldErrors } from "@/app/ui/messages";
import { useErrorFocus } from "@/app/ui/use-error-focus";

type SignupField = (typeof SIGNUP_FIELDS)[number];

const LABELS: Record<SignupField, string> = {
  username: "Username",
  email: "Email",
  password: "Password",
  captcha: "Captcha",
};

type SignupFormProps = {
  initialValues: { username: string; email: string };
  initialError: { code: string | null; fields: FieldErrors };
  /** Per-render value for the first captcha URL, so a fresh page never shows a cached image. */
  captchaNonce: string;
  noJsCaptchaHref: string;
};

export function SignupForm({ initialValues, initialError, captchaNonce, noJsCaptchaHref }: SignupFormProps) {
  const [error, setError] = useState(initialError);
  const [captchaRound, setCaptchaRound] = useState(0);
  const [pending, setPending] = useState(false);
  // State updates are async, so a fast double click needs a synchronous guard.
  const inFlight = useRef(false);

  const refs = {
    username: useRef<HTMLInputElement>(null),
    email: useRef<HTMLInputElement>(null),
    password: useRef<HTMLInputElement>(null),
    captcha: useRef<HTMLInputElement>(null),
  };
  const focusField = useErrorFocus(refs);

  const captchaInput = refs.captcha;
  const refreshCaptcha = useCallback(() => {
    setCaptchaRound((round) => round + 1);
    if (captchaInput.current) captchaInput.current.value = "";
  }, [captchaInput]);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (inFlight.current) return;
    // FormData rather than React state: text typed before hydration exists only in the DOM.
    const values = Object.fromEntries(new FormData(event.currentTarget));
    inFlight.current = true;
    setPending(true);
    // Emptying the live region first makes a repeated identical error be announced again.
    setError({ code: null, fields: {} });

    const result = await postJson("/api/register", values);
    if (result.ok) {
      // A full load, so the welcome page is rendered with the new session cookie.
      window.location.assign("/welcome");
      return;
    }

    inFlight.current = false;
    setPending(false);
    setError({ code: result.code, fields: result.fields });
    // The server spends the captcha on every attempt, right or wrong.
    refreshCaptcha();
    focusField(firstProblem(result.code, result.fields) ?? "captcha");
  }

  const owner = ownerField(error.code, SIGNUP_FIELDS);
  const fieldProps = (name: SignupField) => {
    const code = error.fields[name];
    const owned = owner === name ? error.code : null;
    return {
      name,
      label: LABELS[name],
      defaultValue: name === "username" || name === "email" ? initialValues[name] : undefined,
      inputRef: refs[name],
      error: code
        ? { code, text: fieldErrorText(name, code) }
        : owned
          ? { code: owned, text: errorText(owned) }
          : null,
    };
  };
  const details = SIGNUP_FIELDS.flatMap((name) => {
    const code = error.fields[name];
    return code ? [`${LABELS[name]}: ${fieldErrorText(name, code)}`] : [];
  });
  // Without JavaScript the page arrives with errors already shown; start where the person must act.
  const initialFocus = firstProblem(initialError.code, initialError.fields);

  return (
    <form className="form" method="post" action="/api/register" noValidate onSubmit={onSubmit} aria-busy={pending}>
      <FormError code={error.code} details={details} shownInline={owner !== undefined} />
      <Field
        {...fieldProps("username")}
        type="text"
        autoComplete="username"
        autoCapitalize="none"
        spellCheck={false}
        required
        minLength={3}
        pattern="[A-Za-z0-9_.\-]+"
        hint="3–32 letters, digits, dots, dashes or underscores."
        autoFocus={initialFocus === "username"}
      />
      <Field {...fieldProps("email")} type="email" autoComplete="email" required autoFocus={initialFocus === "email"} />
      <Field
        {...fieldProps("password")}
        type="password"
        autoComplete="new-password"
        required
        minLength={8}
        hint="At least 8 characters."
        autoFocus={initialFocus === "password"}
      />
      <Field
        {...fieldProps("captcha")}
        type="text"
        autoComplete="off"
        autoCapitalize="characters"
        autoCorrect="off"
        spellCheck={false}
        required
        hint="Type the characters in the image. Case doesn't matter."
        beforeInput={
          <Captcha nonce={`${captchaNonce}-${captchaRound}`} onRefresh={refreshCaptcha} noJsHref={noJsCaptchaHref} />
        }
        autoFocus={initialFocus === "captcha" || (initialError.code !== null && initialFocus === null)}
      />
      <button type="submit" className="button button--primary button--block" aria-disabled={pending || undefined}>
        Create account
      </button>
    </form>
  );
}

function firstProblem(code: string | null, fields: FieldErrors): SignupField | null {
  const named = SIGNUP_FIELDS.find((name) => fields[name]);
  return named ?? ownerField(code, SIGNUP_FIELDS) ?? null;
}
