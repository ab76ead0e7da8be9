import assert from "node:assert/strict";
import { before, test } from "node:test";
import { asciiDomain, emailForDisplay, emailForm, loginInput, passwordChangeInput, registerInput, validate } from "./validation";
import { loadCommonPasswords } from "./common-passwords";

before(loadCommonPasswords);

const valid = { username: "someone", email: "someone@example.com", password: "a-long-password", altcha: "proof" };

test("an email address whose part before the @ is longer than RFC 5321's 64 characters is invalid_format", () => {
  assert.equal(registerInput.safeParse({ ...valid, email: `${"a".repeat(64)}@example.com` }).success, true);
  assert.deepEqual(validate(registerInput, { ...valid, email: `${"a".repeat(65)}@example.com` }), { ok: false, fields: { email: "invalid_format" } });
});

test("spaces around a username are dropped, as around an email; inside it, or a control character, it is still invalid", () => {
  const parsed = validate(registerInput, { ...valid, username: "  someone  ", email: " Someone@Example.com " });
  assert.ok(parsed.ok);
  assert.equal(parsed.value.username, "someone");
  assert.equal(parsed.value.email, "someone@example.com");
  assert.deepEqual(validate(registerInput, { ...valid, username: "some one" }), { ok: false, fields: { username: "invalid_format" } });
  assert.deepEqual(validate(registerInput, { ...valid, username: " ab " }), { ok: false, fields: { username: "too_short" } });
  assert.deepEqual(validate(registerInput, { ...valid, username: "someone\n" }), { ok: false, fields: { username: "invalid_format" } });
  // Spaces only are nothing typed: required, as an empty field is.
  assert.deepEqual(validate(registerInput, { ...valid, username: "   ", email: " \u00a0 " }), { ok: false, fields: { username: "required", email: "required" } });
  // A control character among them is still invalid_format, as anywhere.
  assert.deepEqual(validate(registerInput, { ...valid, username: "\t", email: "\r\n" }), { ok: false, fields: { username: "invalid_format", email: "invalid_format" } });
});

test("a login of spaces only is required, never checked as a name", () => {
  assert.deepEqual(validate(loginInput, { login: "   ", password: "a-long-password" }), { ok: false, fields: { login: "required" } });
  assert.deepEqual(validate(loginInput, { login: " \t ", password: "a-long-password" }), { ok: false, fields: { login: "invalid_format" } });
  assert.deepEqual(validate(loginInput, { login: " alice ", password: "x" }), { ok: true, value: { login: "alice", password: "x" } });
  assert.deepEqual(validate(loginInput, { login: "al\u0000ice", password: "x" }), { ok: false, fields: { login: "invalid_format" } });
  assert.deepEqual(validate(loginInput, { login: "a".repeat(255), password: "x" }), { ok: false, fields: { login: "too_long" } });
});

test("a password's length is counted in characters as it is hashed: code points after NFKC, the same on every password field", () => {
  const fields = (password: string) => {
    const result = validate(registerInput, { ...valid, password });
    return result.ok ? "ok" : result.fields.password;
  };
  // Four "é" typed as e + combining accent: eight code points, four characters once normalised.
  assert.equal(fields("e\u0301".repeat(4)), "too_short");
  // Four ligatures "ﬁ": four code points, eight letters as hashed.
  assert.equal(fields("\ufb01\ufb02".repeat(2)), "ok");
  // Eight emoji: sixteen UTF-16 units, eight characters; 128 of them are still allowed, 129 are not.
  assert.equal(fields("😀😁".repeat(3) + "😀"), "too_short");
  assert.equal(fields("😀😁".repeat(4)), "ok");
  assert.equal(fields("😀😁".repeat(64)), "ok");
  assert.equal(fields("😀".repeat(129)), "too_long");
  assert.equal(fields("pass\u0000word"), "invalid_format");
  // What sign-up accepted, a login and a password change accept too.
  assert.ok(validate(loginInput, { login: "alice", password: "😀".repeat(128) }).ok);
  // So is one sign-up took when it counted UTF-16 units as typed, though NFKC makes it longer
  // ("ﬃ" is three letters): 100 of them are 300 characters as hashed, 100 units as typed.
  assert.equal(fields("\ufb03\ufb04".repeat(50)), "too_long");
  assert.ok(validate(loginInput, { login: "alice", password: "\ufb03".repeat(100) }).ok);
  assert.deepEqual(validate(loginInput, { login: "alice", password: "\ufb03".repeat(129) }), { ok: false, fields: { password: "too_long" } });
  assert.deepEqual(validate(passwordChangeInput, { currentPassword: "😀".repeat(128), newPassword: "e\u0301".repeat(4) }), { ok: false, fields: { newPassword: "too_short" } });
});

test("a captcha answer of spaces only is no answer, as an empty one: answers are compared without their spaces", () => {
  for (const captcha of ["", "   ", " \t ", "\u3000"]) {
    const parsed = validate(registerInput, { ...valid, captcha });
    assert.ok(parsed.ok, JSON.stringify(captcha));
    assert.equal(parsed.value.captcha, undefined);
  }
  const typed = validate(registerInput, { ...valid, captcha: " x p m " });
  assert.ok(typed.ok);
  assert.equal(typed.value.captcha, " x p m ");
});

test("a new password that is one of the most common ones, or one character over and over, is too_common; a password being checked is not judged", () => {
  const fields = (password: string) => {
    const result = validate(registerInput, { ...valid, password });
    return result.ok ? "ok" : result.fields.password;
  };
  for (const common of ["password123", "PassWord123", "12345678", "qwertyuiop", "iloveyou", "aaaaaaaa", "        ", "😀".repeat(8), "\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44123"]) {
    assert.equal(fields(common), "too_common", common);
  }
  for (const fine of ["a-long-password", "correct horse battery", "password-1-but-longer", "aaaaaaab"]) assert.equal(fields(fine), "ok", fine);
  // Length is said first: "p" 129 times is too long.
  assert.equal(fields("p".repeat(129)), "too_long");
  assert.deepEqual(validate(passwordChangeInput, { currentPassword: "password123", newPassword: "iloveyou" }), { ok: false, fields: { newPassword: "too_common" } });
  assert.ok(validate(loginInput, { login: "alice", password: "password123" }).ok);
  assert.ok(validate(passwordChangeInput, { currentPassword: "password123", newPassword: "a-long-password" }).ok);
});

test("an email's domain goes to IDNA's ASCII form, by IDNA's mapping, only when it is letters, digits, hyphens and dots", () => {
  assert.equal(emailForm("Jo@Köln.DE"), "jo@xn--kln-sna.de");
  // A Kelvin sign folds to "k" in the domain, as a browser's email field sends it.
  assert.equal(emailForm("jo@\u212Aöln.de"), "jo@xn--kln-sna.de");
  // Left for the address check: what the URL parser would decode (%41) or drop (a soft hyphen).
  assert.equal(asciiDomain("jo@ex%41mplé.com"), "jo@ex%41mplé.com");
  assert.equal(asciiDomain("jo@exam\u00adplé.com"), "jo@exam\u00adplé.com");
  // The local part is never touched; an ASCII address is only lower-cased.
  assert.equal(asciiDomain("Jö@example.com"), "Jö@example.com");
  assert.equal(emailForDisplay("jo@xn--kln-sna.de"), "jo@köln.de");
  assert.equal(emailForDisplay("jo@example.com"), "jo@example.com");
});
