import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readCookie } from "./cookie-header.js";

describe("readCookie", () => {
  it("finds the named cookie among others, and takes an empty value as none", () => {
    assert.equal(readCookie("a=1; holdfast_session=tok; b=2", "holdfast_session"), "tok");
    assert.equal(readCookie("holdfast_session=; a=1", "holdfast_session"), undefined);
    assert.equal(readCookie("HOLDFAST_SESSION=tok", "holdfast_session"), undefined);
    assert.equal(readCookie(null, "holdfast_session"), undefined);
  });

  it("reads it from a long header too: a browser carrying many other cookies is still logged in, and can log out", () => {
    const others = Array.from({ length: 300 }, (_, i) => `analytics_${i}=${"x".repeat(40)}`).join("; ");
    assert.ok(others.length > 12 * 1024);
    assert.equal(readCookie(`${others}; holdfast_session=tok`, "holdfast_session"), "tok");
    assert.equal(readCookie(`holdfast_session=tok; ${others}`, "holdfast_session"), "tok");
  });
});
