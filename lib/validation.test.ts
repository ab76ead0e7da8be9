import assert from "node:assert/strict";
import { test } from "node:test";
import { registerInput, validate } from "./validation";

const valid = { username: "someone", email: "someone@example.com", password: "a-long-password", altcha: "proof" };

test("an email address whose part before the @ is longer than RFC 5321's 64 characters is invalid_format", () => {
  assert.equal(registerInput.safeParse({ ...valid, email: `${"a".repeat(64)}@example.com` }).success, true);
  assert.deepEqual(validate(registerInput, { ...valid, email: `${"a".repeat(65)}@example.com` }), { ok: false, fields: { email: "invalid_format" } });
});
