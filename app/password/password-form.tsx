"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { Field, fieldInput } from "@/app/ui/field";
import { FormError } from "@/app/ui/form-error";
import { fieldErrors, firstProblem, useJsonForm, type FormErrorState } from "@/app/ui/form-state";
import { CURRENT_PASSWORD_WRONG, CURRENT_PASSWORD_WRONG_AFTER_NO_ANSWER, NO_ANSWER, PASSWORD_FIELDS } from "@/app/ui/messages";
import { useErrorFocus } from "@/app/ui/use-error-focus";

type PasswordField = (typeof PASSWORD_FIELDS)[number];

/** Where a change sent from a session that has ended goes: the login page, which comes back here. */
const LOGIN_AGAIN = "/login?next=%2Fpassword&error=session_expired";

const LABELS: Record<PasswordField, string> = { currentPassword: "Current password", newPassword: "New password" };

/**
 * A wrong current password belongs under its field, in words about a password change, not a
 * login's; right after an attempt that got no answer, that attempt may have changed it.
 */
function placed(error: FormErrorState, afterNoAnswer = false): FormErrorState {
  return error.code === "invalid_credentials" ? { ...error, code: afterNoAnswer ? CURRENT_PASSWORD_WRONG_AFTER_NO_ANSWER : CURRENT_PASSWORD_WRONG } : error;
}

/**
 * The passwords a failure rejected, which are emptied (left in place, a rejected one invites
 * sending it again). Any other failure (no answer, a limit, a busy server) keeps both, so the
 * person sends the same again.
 */
function rejected(failure: FormErrorState): PasswordField[] {
  if (failure.code === "invalid_credentials") return ["currentPassword"];
  return PASSWORD_FIELDS.filter((name) => failure.fields[name] !== undefined && failure.fields[name] !== "required");
}

export function PasswordForm({ username, initialError }: { username: string; initialError: FormErrorState }) {
  const focusField = useErrorFocus();
  const router = useRouter();
  // The attempt before the one shown got no answer (see NO_ANSWER).
  const [lastGotNoAnswer, setLastGotNoAnswer] = useState(false);
  const [wrongAfterNoAnswer, setWrongAfterNoAnswer] = useState(false);
  const { error, pending, onSubmit } = useJsonForm(
    "/api/password",
    initialError,
    (failure) => {
      // The session ended meanwhile (timed out, or ended elsewhere): the login page says so, and
      // comes back here after the login.
      if (failure.code === "unauthenticated") return router.push(LOGIN_AGAIN);
      for (const name of rejected(failure)) {
        const input = fieldInput(name);
        if (input) input.value = "";
      }
      setWrongAfterNoAnswer(lastGotNoAnswer && failure.code === "invalid_credentials");
      setLastGotNoAnswer(NO_ANSWER.has(failure.code));
      const shown = placed(failure);
      focusField(firstProblem(PASSWORD_FIELDS, shown.code, shown.fields));
    },
    undefined,
    { success: "/welcome?password=changed" },
  );

  const shown = placed(error, wrongAfterNoAnswer);
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
        // A plain form post that came back: the passwords it carried are never kept (said only
        // when one was typed: not after a post of two empty boxes).
        hint={
          initialError.code && !(initialError.fields.currentPassword === "required" && initialError.fields.newPassword === "required")
            ? "For your safety the passwords you typed were not kept: please type them again."
            : undefined
        }
        required
        autoFocus={initialFocus === "currentPassword"}
      />
      <Field
        name="newPassword"
        label={LABELS.newPassword}
        hint="8 to 128 characters, not a common password."
        error={errorFor("newPassword")}
        type="password"
        autoComplete="new-password"
        minLength={8}
        required
        autoFocus={initialFocus === "newPassword"}
      />
      <button type="submit" className="button button--primary button--block" aria-disabled={pending || undefined}>
        Change password
      </button>
    </form>
  );
}
