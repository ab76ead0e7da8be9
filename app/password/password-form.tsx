"use client";

import { useRouter } from "next/navigation";
import { Field, fieldInput } from "@/app/ui/field";
import { FormError } from "@/app/ui/form-error";
import { fieldErrors, firstProblem, useJsonForm, type FormErrorState } from "@/app/ui/form-state";
import { PASSWORD_FIELDS } from "@/app/ui/messages";
import { useErrorFocus } from "@/app/ui/use-error-focus";

type PasswordField = (typeof PASSWORD_FIELDS)[number];

/** Where a change sent from a session that has ended goes: the login page, which comes back here. */
const LOGIN_AGAIN = "/login?next=%2Fpassword&error=session_expired";

const LABELS: Record<PasswordField, string> = { currentPassword: "Current password", newPassword: "New password" };

/** A wrong current password belongs under its field, in words about a password change, not a login. */
function placed(error: FormErrorState): FormErrorState {
  return error.code === "invalid_credentials" ? { code: "invalid_input", fields: { ...error.fields, currentPassword: "incorrect" } } : error;
}

export function PasswordForm({ username, initialError }: { username: string; initialError: FormErrorState }) {
  const focusField = useErrorFocus();
  const router = useRouter();
  const { error, pending, onSubmit } = useJsonForm(
    "/api/password",
    initialError,
    (failure) => {
      // The session ended meanwhile (timed out, or ended elsewhere): the login page says so, and
      // comes back here after the login.
      if (failure.code === "unauthenticated") return router.push(LOGIN_AGAIN);
      // Neither password is kept after a failure: a rejected one invites resubmitting it.
      for (const name of PASSWORD_FIELDS) {
        const input = fieldInput(name);
        if (input) input.value = "";
      }
      const shown = placed(failure);
      focusField(firstProblem(PASSWORD_FIELDS, shown.code, shown.fields));
    },
    undefined,
    { success: "/welcome?password=changed" },
  );

  const shown = placed(error);
  const { owner, errorFor, details } = fieldErrors(PASSWORD_FIELDS, LABELS, shown);
  // Without JavaScript the page arrives with errors already shown; start where the person must act.
  const initial = placed(initialError);
  const initialFocus = firstProblem(PASSWORD_FIELDS, initial.code, initial.fields);

  return (
    <form className="form" method="post" action="/api/password" noValidate onSubmit={onSubmit} aria-busy={pending}>
      <FormError code={shown.code} retryAfter={shown.retryAfter} details={details} shownInline={owner !== undefined} />
      {/* For password managers: whose password this is (no name, so it is never sent). */}
      <input type="text" autoComplete="username" value={username} readOnly hidden />
      <Field
        name="currentPassword"
        label={LABELS.currentPassword}
        error={errorFor("currentPassword")}
        type="password"
        autoComplete="current-password"
        required
        autoFocus={initialFocus === "currentPassword"}
      />
      <Field
        name="newPassword"
        label={LABELS.newPassword}
        hint="8 to 128 characters."
        error={errorFor("newPassword")}
        type="password"
        autoComplete="new-password"
        minLength={8}
        maxLength={128}
        required
        autoFocus={initialFocus === "newPassword"}
      />
      <button type="submit" className="button button--primary button--block" aria-disabled={pending || undefined}>
        Change password
      </button>
    </form>
  );
}
