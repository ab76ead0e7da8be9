import assert from "node:assert/strict";
import { test } from "node:test";
import { loginInput, registerInput, validate } from "./validation";

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
