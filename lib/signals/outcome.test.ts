import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { errorResponse } from "../http/errors";
import { markCode, outcomeCode, routeLabel, withOutcomeSignals } from "./outcome";
import { createSignals } from "./registry";

describe("response outcomes", () => {
  it("labels known endpoints by path and everything else as other", () => {
    assert.equal(routeLabel("/api/register"), "/api/register");
    assert.equal(routeLabel("/api/register/"), "/api/register");
    assert.equal(routeLabel("/api/signup/draft"), "/api/signup/draft");
    assert.equal(routeLabel("/api/whatever-a-client-typed-123"), "other");
    assert.equal(routeLabel("/"), "other");
  });

  it("reads the contract's code from JSON errors, form redirects and successes", async () => {
    assert.equal(await outcomeCode(errorResponse("session_unknown")), "session_unknown");
    assert.equal(await outcomeCode(errorResponse("rate_limited", { headers: { "retry-after": "3" } })), "rate_limited");
    assert.equal(await outcomeCode(Response.json({ user: {} }, { status: 201 })), "ok");
    assert.equal(await outcomeCode(new Response(null, { status: 204 })), "ok");
    assert.equal(await outcomeCode(new Response(null, { status: 303, headers: { location: "/welcome" } })), "ok");
    assert.equal(await outcomeCode(new Response(null, { status: 303, headers: { location: "/signup?error=captcha_invalid" } })), "captcha_invalid");
    assert.equal(await outcomeCode(new Response("<html>", { status: 500, headers: { "content-type": "text/html" } })), "unknown");
    assert.equal(await outcomeCode(Response.json({ error: { code: "Free text, not a code!" } }, { status: 400 })), "unknown");
    assert.equal(await outcomeCode(new Response("{not json", { status: 400, headers: { "content-type": "application/json" } })), "unknown");
    assert.equal(await outcomeCode(markCode(new Response(null, { status: 503 }), "server_busy")), "server_busy");
  });

  it("counts a captcha the ledger lost apart from one that was used, from JSON and from the form's redirect", async () => {
    assert.equal(await outcomeCode(errorResponse("captcha_missing", { fields: { captcha: "lost" } })), "captcha_lost");
    assert.equal(await outcomeCode(errorResponse("captcha_missing")), "captcha_missing");
    assert.equal(await outcomeCode(new Response(null, { status: 303, headers: { location: "/signup?error=captcha_missing&fields=captcha.lost" } })), "captcha_lost");
    assert.equal(await outcomeCode(new Response(null, { status: 303, headers: { location: "/signup?error=captcha_missing" } })), "captcha_missing");
    assert.equal(await outcomeCode(new Response(null, { status: 303, headers: { location: "/signup?error=captcha_invalid&fields=captcha.lost" } })), "captcha_invalid");
  });

  it("leaves the response's body readable after reading its code", async () => {
    const response = errorResponse("captcha_missing");
    await outcomeCode(response);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, "captcha_missing");
  });

  it("counts each response of a wrapped handler, and a thrown error as internal_error", async () => {
    const signals = createSignals({ instance: "i1", store: "memory" });
    const handler = withOutcomeSignals(async (req) => {
      if (req.headers.has("x-throw")) throw new Error("boom");
      return req.method === "POST" ? errorResponse("captcha_invalid") : Response.json({ ok: true });
    }, () => signals);
    await handler(new Request("http://h/api/register", { method: "POST" }));
    await handler(new Request("http://h/api/register", { method: "POST" }));
    await handler(new Request("http://h/api/health"));
    await assert.rejects(handler(new Request("http://h/api/nope/1", { headers: { "x-throw": "1" } })), /boom/);
    const text = await signals.prometheusText();
    assert.match(text, /route="\/api\/register",status="400",code="captcha_invalid"\} 2$/m);
    assert.match(text, /route="\/api\/health",status="200",code="ok"\} 1$/m);
    assert.match(text, /route="other",status="500",code="internal_error"\} 1$/m);
    await signals.shutdown();
  });
});
