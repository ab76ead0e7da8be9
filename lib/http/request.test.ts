import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PROTO_HEADER } from "./client-ip";
import { isSameOrigin, siteOrigin } from "./request";

const req = (headers: Record<string, string>) => ({ headers: new Headers({ host: "site.test", [PROTO_HEADER]: "http", ...headers }), url: "http://site.test/api/login" });

describe("the site's origin", () => {
  it("without TRUST_PROXY, the socket's scheme and the Host, whatever X-Forwarded-* say", () => {
    assert.equal(siteOrigin(req({ "x-forwarded-proto": "https", "x-forwarded-host": "evil.example" }), 0), "http://site.test");
  });

  it("with TRUST_PROXY=N, of several forwarded values the one the N-th proxy from the right appended", () => {
    // The client wrote https and evil.example; our one proxy appended what it saw.
    assert.equal(siteOrigin(req({ "x-forwarded-proto": "https, http", "x-forwarded-host": "evil.example, site.test" }), 1), "http://site.test");
    assert.equal(siteOrigin(req({ "x-forwarded-proto": "https" }), 1), "https://site.test");
    assert.equal(siteOrigin(req({ "x-forwarded-proto": "http, https, http" }), 2), "https://site.test");
  });

  it("a state-changing request from the client-written forwarded origin is cross-origin", () => {
    const post = (origin: string) => new Request("http://site.test/api/login", { method: "POST", headers: { host: "site.test", [PROTO_HEADER]: "http", origin, "x-forwarded-host": "evil.example, site.test", "x-forwarded-proto": "https, http" } });
    assert.equal(isSameOrigin(post("https://evil.example"), 1), false);
    assert.equal(isSameOrigin(post("http://site.test"), 1), true);
  });
});
