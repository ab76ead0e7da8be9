import assert from "node:assert/strict";
import { test } from "node:test";
import { cleanCode, errorText, formErrorFromQuery, SIGNUP_FIELDS } from "./messages";

test("a page shows only error codes it has words for; a code a link made up shows nothing", () => {
  assert.equal(cleanCode("captcha_invalid"), "captcha_invalid");
  assert.equal(cleanCode("session_expired"), "session_expired");
  // signup_not_kept and its kind: only the page decides them (a link saying so would hide the sign-up form).
  for (const raw of ["call_support_now", "__proto__", "constructor", "Captcha_invalid", "captcha invalid", "", "signup_not_kept", "created_not_logged_in", "network_error", "store_back"]) {
    assert.equal(cleanCode(raw), null, raw);
  }
  assert.deepEqual(formErrorFromQuery({ error: "call_support_now" }, SIGNUP_FIELDS), { code: null, fields: {}, retryAfter: undefined });
  const shown = formErrorFromQuery({ error: "email_taken" }, SIGNUP_FIELDS).code;
  assert.ok(shown && !errorText(shown).includes(shown));
});

test("a page reloaded after a rate limit says what is left of the wait, and nothing once it is over", () => {
  const at = 1_800_000_000;
  const query = (extra: Record<string, string>) => ({ error: "rate_limited", retry: "60", ...extra });
  // Without `at` (a link, an older redirect): the whole wait, as sent.
  assert.equal(formErrorFromQuery(query({}), SIGNUP_FIELDS, at * 1000).retryAfter, 60);
  assert.deepEqual(formErrorFromQuery(query({ at: String(at) }), SIGNUP_FIELDS, (at + 20) * 1000), { code: "rate_limited", fields: {}, retryAfter: 40 });
  assert.deepEqual(formErrorFromQuery(query({ at: String(at) }), SIGNUP_FIELDS, (at + 61) * 1000), { code: null, fields: {} });
  // An `at` in the future never makes the wait longer than the refusal said.
  assert.equal(formErrorFromQuery(query({ at: String(at + 999) }), SIGNUP_FIELDS, at * 1000).retryAfter, 60);
});

test("a 409's taken fields come back through the page's address too", () => {
  assert.deepEqual(formErrorFromQuery({ error: "email_taken", fields: "username.username_taken,email.email_taken" }, SIGNUP_FIELDS).fields, { username: "username_taken", email: "email_taken" });
});
