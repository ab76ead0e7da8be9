import assert from "node:assert/strict";
import { test } from "node:test";
import { cleanCode, errorText, formErrorFromQuery, SIGNUP_FIELDS } from "./messages";

test("a page shows only error codes it has words for; a code a link made up shows nothing", () => {
  assert.equal(cleanCode("captcha_invalid"), "captcha_invalid");
  assert.equal(cleanCode("session_expired"), "session_expired");
  for (const raw of ["call_support_now", "__proto__", "constructor", "Captcha_invalid", "captcha invalid", ""]) {
    assert.equal(cleanCode(raw), null, raw);
  }
  assert.deepEqual(formErrorFromQuery({ error: "call_support_now" }, SIGNUP_FIELDS), { code: null, fields: {}, retryAfter: undefined });
  const shown = formErrorFromQuery({ error: "email_taken" }, SIGNUP_FIELDS).code;
  assert.ok(shown && !errorText(shown).includes(shown));
});
