// Human text for the API's error codes. The UI keys everything on `code`;
// the server's own `message` is never shown, so wording stays in one place.

/** Codes the UI itself produces when there is no usable API answer. */
export const NETWORK_ERROR = "network_error";
export const UNEXPECTED_RESPONSE = "unexpected_response";
/** A page that needs the login could not read the session: its store cannot be reached right now. */
export const SESSION_UNREADABLE = "session_unreadable";
/** A sign-up form was sent as a plain post before the page's JavaScript had loaded (a slow connection). */
export const SENT_BEFORE_READY = "sent_before_ready";
/** The login succeeded, and right after it this browser was not logged in (its cookie was not kept). */
export const LOGIN_NOT_KEPT = "login_not_kept";
/** The sign-up created the account, and right after it this browser was not logged in (its cookie was not kept). */
export const SIGNUP_NOT_KEPT = "signup_not_kept";
/** The sign-up created the account, and the server could not store its login (`fields.account` `created` on its 503). */
export const CREATED_NOT_LOGGED_IN = "created_not_logged_in";
/** A name or email is taken right after a sign-up got no answer: that sign-up may have created the account. */
export const TAKEN_AFTER_NO_ANSWER = "taken_after_no_answer";
/**
 * Failures after which the attempt may have gone through unseen (an account created, a password
 * changed): the answer was lost, or the server gave up waiting on the database while it went on.
 */
export const NO_ANSWER: ReadonlySet<string> = new Set([NETWORK_ERROR, UNEXPECTED_RESPONSE, "session_store_unavailable", "internal_error"]);

/** A page reloaded after `session_store_unavailable` whose store answers again: the refusal is no longer true. */
export const STORE_BACK = "store_back";

/** The current password typed on the password page is wrong. */
export const CURRENT_PASSWORD_WRONG = "current_password_wrong";
/** The same, right after a change got no answer: that change may have gone through. */
export const CURRENT_PASSWORD_WRONG_AFTER_NO_ANSWER = "current_password_wrong_after_no_answer";

/** Codes a page decides from what it saw, never found in an address (`error=`). */
const PAGE_ONLY: ReadonlySet<string> = new Set([
  NETWORK_ERROR,
  UNEXPECTED_RESPONSE,
  SENT_BEFORE_READY,
  SIGNUP_NOT_KEPT,
  CREATED_NOT_LOGGED_IN,
  TAKEN_AFTER_NO_ANSWER,
  STORE_BACK,
  CURRENT_PASSWORD_WRONG_AFTER_NO_ANSWER,
]);

/** What the login page says after a logout (`?out=`), by how far it reached. */
export const LOGGED_OUT: Record<string, string> = {
  here: "You are logged out in this browser.",
  everywhere: "You are logged out here, and your sessions on every other browser and device were ended.",
};

const ERROR_TEXT: Record<string, string> = {
  invalid_input: "Some details are missing or not valid. Please check them and try again.",
  invalid_json: "Your details did not reach us intact. Please try again.",
  no_session:
    "Your browser did not send back our session cookie: it was cleared (logging out in another tab does that), or this browser blocks cookies for this site. We've shown a new captcha; please try again, and if this comes back, allow cookies for this site.",
  session_unknown: "Your session expired. We've shown a new captcha; please try again.",
  captcha_missing: "That captcha was already checked (each image counts for one attempt), or none had loaded. We've shown a new one; please type its characters.",
  captcha_expired: "That captcha expired. We've shown a new one; please type its characters.",
  captcha_invalid: "The characters did not match the captcha. We've shown a new one; please try again.",
  username_taken: "That username is already taken. Please choose another.",
  email_taken: "An account with that email already exists. Try logging in instead.",
  invalid_credentials: "We could not log you in with that username or email and that password. Check both, and try again.",
  unauthenticated: "You are not logged in. Please log in again.",
  session_expired: "Your session on this browser has ended (it timed out, or was ended from elsewhere), so please log in.",
  session_ended:
    "Your session in this browser had already ended, so your sessions on other browsers and devices were not ended. Log in, then choose Log out everywhere.",
  cross_origin:
    "The site refused this form as if it came from another site, though it came from this page. Nothing was saved, and it is not something you did: the site's server does not recognise its own address (its operator's log says how to fix it). Please try again later.",
  payload_too_large: "That was more data than we accept. Please shorten your entries.",
  unsupported_media_type: "Your browser sent the form in a format we don't accept. Reload the page and try again.",
  rate_limited: "Too many attempts. Please wait a little, then try again.",
  pow_invalid: "Your browser's security check did not go through. It has started a new one; please submit again.",
  pow_failed: "Your browser could not finish its security check. Please try again: it starts a new one. If this comes back, reload the page.",
  javascript_required:
    "Creating an account needs JavaScript, and this form arrived without the short security check it computes: if JavaScript is off for this site, turn it on; if the page was still loading, wait a moment. Then try again. Logging in works without it.",
  session_store_unavailable: "Our sign-in service is unavailable for a moment, or did not answer in time. Please try again shortly.",
  [STORE_BACK]: "Our sign-in service is working again. Your last try may not have gone through: please send the form again (if it then says your username or email is taken, or your current password is wrong, the last try did go through).",
  server_busy: "Many people are signing up or logging in right now. Please try again in a moment.",
  database_not_migrated: "Our sign-in service is unavailable for a moment, so nothing was done. Please try again shortly.",
  internal_error: "Something went wrong on our side. Please try again.",
  [NETWORK_ERROR]: "We couldn't reach Holdfast, or it did not answer in time. Check your connection and try again.",
  [UNEXPECTED_RESPONSE]: "Something went wrong on our side. Please try again.",
  [SESSION_UNREADABLE]:
    "Our sign-in service is unavailable for a moment, so this page cannot check your login. Nothing was changed: reload the page shortly.",
  [SENT_BEFORE_READY]:
    "The form was sent before this page's scripts had run (it was still loading, or a script failed to load), so its security check had not run. Nothing was created: type your password and the captcha again, then create your account. If this comes back, reload the page.",
  [TAKEN_AFTER_NO_ANSWER]:
    "That username or email is already taken, and your last try got no answer: it may have created your account. Log in with that username or email and your password; if that fails, choose another.",
  [CURRENT_PASSWORD_WRONG]: "That is not your current password.",
  [CURRENT_PASSWORD_WRONG_AFTER_NO_ANSWER]:
    "That is not your current password, and your last try got no answer: it may have changed your password already. If so, your new password is the one to use from now on.",
  [SIGNUP_NOT_KEPT]:
    "Your account was created, but this browser did not keep the login: the session cookie did not come back. Allow cookies for this site, then log in with your new username and password.",
  [CREATED_NOT_LOGGED_IN]:
    "Your account was created, but our sign-in service did not answer in time to log you in. In a moment, log in with your new username and password.",
  [LOGIN_NOT_KEPT]:
    "Your password was right, but this browser did not keep the login: the session cookie did not come back. Allow cookies for this site, then log in again.",
};

/**
 * A table's own entry for a key that may come from a URL: never one inherited from
 * Object.prototype (`?error=__proto__` must read as an unknown code, not as an object).
 */
function own<T>(table: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** How long to wait, in words: "about 3 minutes", "30 seconds". */
export function waitText(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.ceil(seconds))} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return minutes < 90 ? `about ${minutes} minutes` : `about ${Math.ceil(minutes / 60)} hours`;
}

/** `retryAfter`: the seconds the refusal asked to wait, for the codes that come with one. */
export function errorText(code: string, retryAfter?: number): string {
  if (code === "rate_limited" && retryAfter) return `Too many attempts. Please wait ${waitText(retryAfter)}, then try again.`;
  return own(ERROR_TEXT, code) ?? `Something went wrong (${code}). Please try again.`;
}

/** The wait a page's URL carries after a refused plain form post (`retry=<seconds>`). */
function retryParam(raw: string): number | undefined {
  return /^\d{1,6}$/.test(raw) && Number(raw) > 0 ? Number(raw) : undefined;
}

/**
 * What a page's URL says about the plain form post that was refused: `error=<code>`, with
 * `fields=<field>.<code>,…` of this form's fields (alongside invalid_input, or a 409 naming the
 * taken ones) and `retry=<seconds>` (with `at=<epoch seconds>`, when it was said).
 */
export function formErrorFromQuery(
  query: Record<string, string | string[] | undefined>,
  known: readonly string[],
  nowMs = Date.now(),
): { code: string | null; fields: FieldErrors; retryAfter?: number } {
  const code = cleanCode(firstParam(query.error));
  const fields = code === "invalid_input" || code === "username_taken" || code === "email_taken" ? parseFieldsParam(firstParam(query.fields), known) : {};
  let retryAfter = retryParam(firstParam(query.retry));
  // `at`: when the refusal was made (epoch seconds). A reload after the wait (or partway) says
  // what is left of it, or nothing once it is over, rather than the whole wait again.
  const at = firstParam(query.at);
  if (retryAfter !== undefined && /^\d{1,12}$/.test(at)) {
    const left = Math.min(retryAfter, Number(at) + retryAfter - Math.floor(nowMs / 1000));
    if (left <= 0 && code === "rate_limited") return { code: null, fields: {} };
    retryAfter = Math.max(1, left);
  }
  return { code, fields, retryAfter };
}

/** Top-level codes about one field: shown under that field instead of in the banner. */
export const CODE_FIELD: Record<string, string> = {
  username_taken: "username",
  email_taken: "email",
  captcha_missing: "captcha",
  captcha_expired: "captcha",
  captcha_invalid: "captcha",
  [CURRENT_PASSWORD_WRONG]: "currentPassword",
  [CURRENT_PASSWORD_WRONG_AFTER_NO_ANSWER]: "currentPassword",
};

/** The field of this form that a top-level code belongs to, if the form has that field. */
export function ownerField<F extends string>(code: string | null, fields: readonly F[]): F | undefined {
  const owner = code ? own(CODE_FIELD, code) : undefined;
  return fields.find((name) => name === owner);
}

type Limits = { min?: number; max?: number; format?: string; noun: string };

const LIMITS: Record<string, Limits> = {
  username: { min: 3, max: 32, noun: "a username", format: "Use only letters A–Z (no accents), digits, dots, dashes and underscores." },
  email: { noun: "your email address", format: "Enter an email address like name@example.com." },
  password: { min: 8, max: 128, noun: "your password" },
  captcha: { noun: "the characters from the captcha", format: "Type only the characters shown in the image." },
  login: { noun: "your username or email" },
  currentPassword: { noun: "your current password" },
  newPassword: { min: 8, max: 128, noun: "a new password" },
};

export function fieldErrorText(field: string, code: string): string {
  const limits = own(LIMITS, field) ?? { noun: "this field" };
  switch (code) {
    case "required":
      return `Enter ${limits.noun}.`;
    case "too_short":
      return limits.min ? `Use at least ${limits.min} characters.` : "That is too short.";
    case "too_long":
      return limits.max ? `Use at most ${limits.max} characters.` : "That is too long.";
    case "invalid_format":
      return limits.format ?? "That doesn't look right.";
    case "username_taken":
    case "email_taken":
      return errorText(code);
    case "taken_maybe_yours":
      return "Taken, perhaps by the account your last try created: see above.";
    case "pass_lapsed":
      return "Your earlier right answer counted for a few minutes only, and they have passed. Please type the characters of this new image.";
    case "too_common":
      return "That password is one of the most common ones, which attackers try first. Choose another: a few unrelated words make a strong one.";
    case "unchanged":
      return "That is the same as the current password you typed. Choose a different one.";
    case "pass_used":
      return "Your earlier right answer counted for one attempt, and another attempt from this browser (this site open in another tab) has used it. Please type the characters of this new image.";
    case "pass_spent":
      return "Your earlier right answer counted for that attempt, which found a username or email taken again. Please type the characters of this new image.";
    case "pass_lost":
      return "Our server lost track of your earlier right answer (nothing you did caused this). Please type the characters of this new image.";
    case "lost":
      return "Our server lost track of that image before it could check your answer (nothing you typed caused this). We've shown a new image; please type its characters.";
    case "replaced":
      return "Those were the right characters, but that image no longer counted: this site is open in another tab or window, and an image or an attempt there replaces the one here. We've shown a new image here: type its characters and finish in this tab, as an attempt in the other one would replace this image too.";
    default:
      return "Please check this field.";
  }
}

// Form field order, which is also the order errors are read and focused in.
export const SIGNUP_FIELDS = ["username", "email", "password", "captcha"] as const;
export const LOGIN_FIELDS = ["login", "password"] as const;
export const PASSWORD_FIELDS = ["currentPassword", "newPassword"] as const;

export type FieldErrors = Partial<Record<string, string>>;

/** One query-string value; repeated keys are tampering or noise, so only the first counts. */
export function firstParam(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? "";
}

/** Reads `fields=<field>.<code>,<field>.<code>` from the no-JS redirect, keeping only known fields. */
function parseFieldsParam(raw: string, known: readonly string[]): FieldErrors {
  const out: FieldErrors = {};
  for (const pair of raw.split(",")) {
    const dot = pair.indexOf(".");
    if (dot <= 0) continue;
    const field = pair.slice(0, dot);
    const code = pair.slice(dot + 1);
    if (known.includes(field) && /^[a-z_]{1,40}$/.test(code) && !out[field]) out[field] = code;
  }
  return out;
}

/** Error codes arrive in the URL, so anything odd is dropped rather than echoed. */
export function cleanCode(raw: string): string | null {
  // Only a code this UI has words for: a link may put anything in `error=`, and a page must never
  // show text that a stranger chose ("Something went wrong (call_support_now)"). Nor one that only
  // the page itself decides, from what it saw: a link saying an account was made would hide the
  // sign-up form.
  return /^[a-z_]{1,40}$/.test(raw) && own(ERROR_TEXT, raw) !== undefined && !PAGE_ONLY.has(raw) ? raw : null;
}
