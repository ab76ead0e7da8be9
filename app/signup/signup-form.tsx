"use client";

import { useCallback, useEffect, useRef, useState, type ReactNode } from "react";
import { Captcha, useHydrated } from "@/app/ui/captcha";
import { Field, fieldInput } from "@/app/ui/field";
import { FormError } from "@/app/ui/form-error";
import { fieldErrors, firstProblem, useJsonForm, type FormErrorState } from "@/app/ui/form-state";
import { loggedInAs, loggedOutHere, type ApiFailure } from "@/app/ui/api";
import { CREATED_NOT_LOGGED_IN, errorText, NO_ANSWER, ownerField, SENT_BEFORE_READY, SIGNUP_FIELDS, SIGNUP_NOT_KEPT, TAKEN_AFTER_NO_ANSWER } from "@/app/ui/messages";
import { useErrorFocus } from "@/app/ui/use-error-focus";
import { useProofOfWork } from "@/app/ui/use-proof-of-work";

type SignupField = (typeof SIGNUP_FIELDS)[number];

const LABELS: Record<SignupField, string> = {
  username: "Username",
  email: "Email",
  password: "Password",
  captcha: "Captcha",
};

/**
 * A sign-up creates the account whether or not the browser keeps its cookie (the path without
 * the image needs none before it); one that blocks cookies would land on /welcome, be sent to an
 * empty login page, and never learn that the account exists. So the login is checked first.
 */
async function accountKept(): Promise<ApiFailure | null> {
  return (await loggedOutHere()) ? { code: SIGNUP_NOT_KEPT, fields: {} } : null;
}

/**
 * Failures that a sign-up finished in another tab or window causes here: its login replaced the
 * session this page's captcha was kept in (a captcha_invalid only when the answer was right for
 * a replaced image). After them the page asks who is logged in now, unless someone already was
 * when it loaded.
 */
const SESSION_MOVED_ON = new Set(["captcha_missing", "captcha_invalid", "session_unknown"]);

/** A taken email says to log in instead: with the way there, in the field's own message. */
function withLogInLink(error: { code: string; text: string } | null): { code: string; text: ReactNode } | null {
  if (error?.code !== "email_taken") return error;
  return {
    ...error,
    text: (
      <>
        {error.text} <a href="/login">Log in</a>
      </>
    ),
  };
}

/** Codes after which the server keeps the solved captcha as a pass for the next attempt. */
const PASS_CODES = new Set(["username_taken", "email_taken"]);
/**
 * Codes the server answers before it looks at the captcha (lib/api/register.ts's order), so the
 * image and the typed answer still count: a person who fixes a field solves nothing again.
 */
const CAPTCHA_UNSPENT = new Set(["invalid_input", "invalid_json", "payload_too_large", "unsupported_media_type", "rate_limited", "pow_invalid", "pow_failed"]);

type SignupFormProps = {
  initialValues: { username: string; email: string };
  initialError: FormErrorState;
  /** Per-render value for the first captcha URL, so a fresh page never shows a cached image. */
  captchaNonce: string;
  /** The page came back from a plain form post that had a password in it, which is never kept. */
  passwordCleared: boolean;
  /** How long the session's pass has left (0: none): the captcha was solved and its answer still counts once. */
  captchaPassLeftMs: number;
  /** How long a pass lives from the 409 that leaves it. */
  passTtlMs: number;
  /** How long a captcha counts from its drawing. */
  captchaTtlMs: number;
  /** Someone was logged in here when the page loaded (the page says so above the form). */
  loggedInAtLoad: boolean;
};

/**
 * A pass the server no longer holds was used by another attempt of this browser (another tab) if
 * its time had not run out; the client's deadline runs a response's travel behind the server's.
 */
const PASS_LAPSE_SLACK_MS = 5_000;

export function SignupForm({ initialValues, initialError, captchaNonce, passwordCleared, captchaPassLeftMs, passTtlMs, captchaTtlMs, loggedInAtLoad }: SignupFormProps) {
  const [captchaRound, setCaptchaRound] = useState(0);
  const [solved, setSolved] = useState(captchaPassLeftMs > 0);
  // When the pass runs out, by this page's clock.
  const passDeadline = useRef(0);
  useEffect(() => {
    if (captchaPassLeftMs > 0) passDeadline.current = Date.now() + captchaPassLeftMs;
  }, [captchaPassLeftMs]);
  // "Can't read it?": no image to read; the browser does more work instead, under a tighter limit.
  const [withoutImage, setWithoutImage] = useState(false);
  // The attempt before the one shown got no answer (see NO_ANSWER); a taken name now may be this person's.
  const [lastGotNoAnswer, setLastGotNoAnswer] = useState(false);
  const [takenAfterNoAnswer, setTakenAfterNoAnswer] = useState(false);
  // A kept right answer (a pass) gone, so a captcha is asked for again: the server no longer held
  // it, as its time ran out (pass_lapsed) or another tab used it (pass_used); or this attempt used
  // it and found a name taken again (pass_spent).
  const [passGone, setPassGone] = useState<"pass_lapsed" | "pass_used" | "pass_spent" | null>(null);
  // The attempt that failed leaned on a pass: a lost captcha was that pass, not an image.
  const [leanedOnPass, setLeanedOnPass] = useState(false);
  // Whether the attempt that failed was sent at all (its proof of work may have failed first).
  const sent = useRef(false);
  // This browser logged in since the page loaded (a sign-up finished in another tab): who as.
  const [signedUpElsewhere, setSignedUpElsewhere] = useState<string | null>(null);
  const meAsked = useRef(0);
  const pow = useProofOfWork({ level: withoutImage ? "accessible" : "normal" });
  const focusField = useErrorFocus();
  const hydrated = useHydrated();

  const refreshCaptcha = useCallback(() => {
    setCaptchaRound((round) => round + 1);
    const input = fieldInput("captcha");
    if (input) input.value = "";
  }, []);

  const { error, pending, onSubmit } = useJsonForm(
    "/api/register",
    initialError,
    (failure) => {
      setSignedUpElsewhere(null);
      const movedOn = SESSION_MOVED_ON.has(failure.code) && (failure.code !== "captcha_invalid" || failure.fields.captcha === "replaced");
      // Only the latest failure's answer counts: a slow one from an earlier failure is dropped.
      const asked = ++meAsked.current;
      if (movedOn && !loggedInAtLoad) void loggedInAs().then((name) => asked === meAsked.current && setSignedUpElsewhere(name));
      setTakenAfterNoAnswer(lastGotNoAnswer && PASS_CODES.has(failure.code));
      setLastGotNoAnswer(sent.current && NO_ANSWER.has(failure.code));
      const gone = solved && failure.code === "invalid_input" && failure.fields.captcha === "required";
      const spent = solved && !withoutImage && PASS_CODES.has(failure.code);
      setPassGone(gone ? (Date.now() >= passDeadline.current - PASS_LAPSE_SLACK_MS ? "pass_lapsed" : "pass_used") : spent ? "pass_spent" : null);
      setLeanedOnPass(solved && !withoutImage);
      // The image shown before the pass was solved and spent: a new one to read.
      if (gone) refreshCaptcha();
      // A right answer followed by a taken name is kept by the server for the next attempt; an
      // attempt that spent such a pass leaves none, whatever its outcome (a second taken name).
      // One refused before the captcha's turn (a field to fix, a limit) leaves it where it was.
      const granted = PASS_CODES.has(failure.code) && !withoutImage && !solved;
      if (granted) passDeadline.current = Date.now() + passTtlMs;
      const keep = granted || (solved && !gone && CAPTCHA_UNSPENT.has(failure.code));
      setSolved(keep);
      // Otherwise the server spent the captcha on this attempt, right or wrong, unless it never got that far.
      if (!keep && !CAPTCHA_UNSPENT.has(failure.code)) refreshCaptcha();
      focusField(firstProblem(SIGNUP_FIELDS, failure.code, failure.fields) ?? (withoutImage || keep ? "username" : "captcha"));
    },
    async (values) => {
      sent.current = false;
      const proof = await pow.take();
      if (!proof.ok) return { ok: false, code: proof.code, fields: {} };
      const { captcha, ...rest } = values;
      const needsCaptcha = !withoutImage && !solved;
      sent.current = true;
      return { ok: true, values: { ...rest, ...(needsCaptcha ? { captcha } : {}), altcha: proof.proof.payload } };
    },
    { confirm: accountKept },
  );

  // The account exists, and this browser is not logged in to it: the form has nothing left to
  // do, and sent again it would only meet the new account's own name as taken.
  const created = error.code === SIGNUP_NOT_KEPT ? SIGNUP_NOT_KEPT : error.code === "session_store_unavailable" && error.fields.account === "created" ? CREATED_NOT_LOGGED_IN : null;
  const logIn = useRef<HTMLAnchorElement>(null);
  const stopPow = pow.stop;
  // Where the person goes next, in place of the form they were in; the security check for a
  // next attempt, started as this one was sent, has nothing left to serve.
  useEffect(() => {
    if (!created) return;
    logIn.current?.focus();
    stopPow();
  }, [created, stopPow]);

  // The banner says the taken name may be this person's own new account; its field must not
  // then tell them to choose another.
  const takenAfterSilence = takenAfterNoAnswer && error.code !== null && PASS_CODES.has(error.code);
  const ownerTaken = takenAfterSilence ? ownerField(error.code, SIGNUP_FIELDS) : undefined;
  // Every field the 409 names as taken (both, when both are), or else the code's own field.
  const takenFields = takenAfterSilence ? SIGNUP_FIELDS.filter((name) => error.fields[name] === `${name}_taken` || name === ownerTaken) : [];
  // What the captcha's field says when the attempt leaned on a kept right answer (a pass).
  const passNote =
    passGone === "pass_spent" && error.code !== null && PASS_CODES.has(error.code)
      ? passGone
      : passGone && error.fields.captcha === "required"
        ? passGone
        : leanedOnPass && error.fields.captcha === "lost"
          ? "pass_lost"
          : undefined;
  // Logged in since (a sign-up finished in another tab): what the failure said is no longer the point.
  const shown = signedUpElsewhere
    ? { code: null, fields: {} }
    : passNote
    ? { ...error, fields: { ...error.fields, captcha: passNote } }
    : takenFields.length
      ? { ...error, fields: { ...error.fields, ...Object.fromEntries(takenFields.map((name) => [name, "taken_maybe_yours"])) } }
      : error;
  const { owner, errorFor, details } = fieldErrors(SIGNUP_FIELDS, LABELS, shown);
  const fieldProps = (name: SignupField) => ({
    name,
    label: LABELS[name],
    defaultValue: name === "username" || name === "email" ? initialValues[name] : undefined,
    error: withLogInLink(errorFor(name)),
  });
  if (created) {
    return (
      <div className="form">
        <div className="form-notice" role="alert" data-testid="account-created" data-code={created}>
          <p>{errorText(created)}</p>
        </div>
        <a className="button button--primary button--block" href="/login" ref={logIn} data-testid="account-created-login">
          Log in
        </a>
      </div>
    );
  }
  // Without JavaScript the page arrives with errors already shown; start where the person must act.
  const initialFocus = firstProblem(SIGNUP_FIELDS, initialError.code, initialError.fields);
  const showCaptcha = !withoutImage && !solved;

  return (
    <form className="form" method="post" action="/api/register" noValidate onSubmit={onSubmit} aria-busy={pending}>
      {/* The form's default button, first in it: Enter in a field sends the form, even before the
          scripts have loaded, when "New captcha" below is a submit button of its own. Rendered
          but out of sight (Safari skips a default button that is not rendered). */}
      <button type="submit" className="visually-hidden" tabIndex={-1} aria-hidden="true" />
      {/* After a plain form post the banner below says the same, with the reason; once is enough. */}
      {initialError.code === "javascript_required" ? null : (
        <noscript>
          <p className="form-notice" role="note">
            Creating an account needs JavaScript: your browser computes a short security check that makes mass sign-ups
            costly for bots. Turn on JavaScript for this site to continue. Logging in works without it.
          </p>
        </noscript>
      )}
      {signedUpElsewhere ? (
        <p className="form-note" role="status" data-testid="signed-up-elsewhere">
          This browser is now logged in as {signedUpElsewhere} (in another tab or window, since this page loaded).{" "}
          <a href="/welcome">Go to your account</a>, or create another account below: this browser then switches to it.
        </p>
      ) : null}
      <FormError
        // The post came without the proof of work, yet this page runs JavaScript: it was sent before
        // the page had finished loading (a slow connection), which is what the person is told.
        code={
          signedUpElsewhere
            ? null
            : hydrated && error.code === "javascript_required"
              ? SENT_BEFORE_READY
              : takenAfterNoAnswer && error.code !== null
                ? TAKEN_AFTER_NO_ANSWER
                : error.code
        }
        retryAfter={error.retryAfter}
        details={details}
        // Said in the banner too: that the account may be theirs is more than the field can say.
        // A kept right answer gone is the captcha field's to say, not "details missing" in the banner.
        shownInline={(owner !== undefined || (passNote !== undefined && Object.keys(shown.fields).every((name) => name === "captcha"))) && !takenAfterNoAnswer}
      />
      <Field
        {...fieldProps("username")}
        type="text"
        autoComplete="username"
        autoCapitalize="none"
        spellCheck={false}
        required
        minLength={3}
        pattern="[A-Za-z0-9_.\-]+"
        hint="3–32 letters A–Z (no accents), digits, dots, dashes or underscores."
        autoFocus={initialFocus === "username"}
      />
      <Field {...fieldProps("email")} type="email" autoComplete="email" required autoFocus={initialFocus === "email"} />
      <Field
        {...fieldProps("password")}
        type="password"
        autoComplete="new-password"
        required
        minLength={8}
        hint={passwordCleared ? "8 to 128 characters, not a common password. For your safety the password you typed was not kept: please type it again." : "8 to 128 characters, not a common password."}
        autoFocus={initialFocus === "password"}
      />
      {showCaptcha ? (
        <Field
          {...fieldProps("captcha")}
          type="text"
          autoComplete="off"
          autoCapitalize="characters"
          autoCorrect="off"
          spellCheck={false}
          required
          hint="Type the characters in the image. Case and spaces don't matter."
          beforeInput={<Captcha nonce={`${captchaNonce}-${captchaRound}`} onRefresh={refreshCaptcha} noJsAction="/api/signup/draft" lifetimeMs={captchaTtlMs} fieldName="captcha" />}
          // A page that says JavaScript is needed puts no one to work on a captcha it cannot accept.
          autoFocus={initialFocus === "captcha" || (initialError.code !== null && initialError.code !== "javascript_required" && initialFocus === null)}
        />
      ) : (
        <p className="form-note" role="status" data-testid="captcha-replaced">
          {solved
            ? takenAfterSilence
              ? "Your captcha answer was right, and it still counts for your next try in the next few minutes, if the account is not yours after all."
              : "Your captcha answer was right, and it still counts for your next try in the next few minutes: change what is taken and create your account."
            : "No image to read: instead, your browser does a longer security check in the background (a few seconds). You can create your account when it is done."}
        </p>
      )}
      {hydrated && !solved ? (
        <button
          type="button"
          className="button button--link"
          onClick={() => setWithoutImage((on) => !on)}
        >
          {withoutImage ? "Use the image instead" : "Can't read it? Sign up without the image"}
        </button>
      ) : null}
      {/* Announced only on the path without the image, where the person waits for it; on the
          other it runs behind the typing, and every run would interrupt a screen reader. */}
      <p className="form-note" aria-live={withoutImage ? "polite" : "off"} data-testid="pow-status" data-status={pow.status}>
        {pow.status === "solving"
          ? withoutImage
            ? "Security check running (a few seconds)…"
            : "Security check running…"
          : pow.status === "ready"
            ? "Security check done."
            : pow.status === "error"
              ? "Security check did not finish; it runs again when you create your account."
              : ""}
      </p>
      <button type="submit" className="button button--primary button--block" aria-disabled={pending || undefined}>
        Create account
      </button>
    </form>
  );
}
