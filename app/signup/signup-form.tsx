"use client";

import { useCallback, useState } from "react";
import { Captcha } from "@/app/ui/captcha";
import { Field, fieldInput } from "@/app/ui/field";
import { FormError } from "@/app/ui/form-error";
import { fieldErrors, firstProblem, useJsonForm, type FormErrorState } from "@/app/ui/form-state";
import { SIGNUP_FIELDS } from "@/app/ui/messages";
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
  initialError: FormErrorState;
  /** Per-render value for the first captcha URL, so a fresh page never shows a cached image. */
  captchaNonce: string;
  /** The page came back from a plain form post that had a password in it, which is never kept. */
  passwordCleared: boolean;
};

export function SignupForm({ initialValues, initialError, captchaNonce, passwordCleared }: SignupFormProps) {
  const [captchaRound, setCaptchaRound] = useState(0);
  const focusField = useErrorFocus();

  const refreshCaptcha = useCallback(() => {
    setCaptchaRound((round) => round + 1);
    const input = fieldInput("captcha");
    if (input) input.value = "";
  }, []);

  const { error, pending, onSubmit } = useJsonForm("/api/register", initialError, (failure) => {
    // The server spends the captcha on every attempt, right or wrong.
    refreshCaptcha();
    focusField(firstProblem(SIGNUP_FIELDS, failure.code, failure.fields) ?? "captcha");
  });

  const { owner, errorFor, details } = fieldErrors(SIGNUP_FIELDS, LABELS, error);
  const fieldProps = (name: SignupField) => ({
    name,
    label: LABELS[name],
    defaultValue: name === "username" || name === "email" ? initialValues[name] : undefined,
    error: errorFor(name),
  });
  // Without JavaScript the page arrives with errors already shown; start where the person must act.
  const initialFocus = firstProblem(SIGNUP_FIELDS, initialError.code, initialError.fields);

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
        hint={passwordCleared ? "At least 8 characters. For your safety the password you typed was not kept: please type it again." : "At least 8 characters."}
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
          <Captcha nonce={`${captchaNonce}-${captchaRound}`} onRefresh={refreshCaptcha} noJsAction="/api/signup/draft" />
        }
        autoFocus={initialFocus === "captcha" || (initialError.code !== null && initialFocus === null)}
      />
      <button type="submit" className="button button--primary button--block" aria-disabled={pending || undefined}>
        Create account
      </button>
    </form>
  );
}
