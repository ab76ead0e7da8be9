import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { ENDPOINT_METHODS, gate, nextHeaders, SECURITY_HEADERS, type GateVerdict } from "./gate";

const refused = (verdict: GateVerdict): Response => {
  assert.equal(verdict.pass, false, "the gate answers this itself");
  return (verdict as { response: Response }).response;
};
const code = async (response: Response) => ((await response.json()) as { error: { code: string } }).error.code;

describe("the server's gate", () => {
  it("a method Next cannot take gets the contract's 405 with the endpoint's Allow under /api", async () => {
    for (const method of ["TRACE", "TRACK", "PROPFIND", "MKCOL"]) {
      const me = refused(gate(method, "/api/me", { metrics: false }));
      assert.equal(me.status, 405);
      assert.equal(me.headers.get("allow"), "GET, HEAD, OPTIONS");
      assert.equal(await code(me), "method_not_allowed");
      const login = refused(gate(method, "/api/login?x=1", { metrics: false }));
      assert.equal(login.headers.get("allow"), "POST, OPTIONS");
    }
    const nowhere = refused(gate("TRACE", "/api/nowhere", { metrics: false }));
    assert.equal(nowhere.status, 404);
    assert.equal(await code(nowhere), "not_found");
    // The metrics endpoint exists only while it is on.
    assert.equal(refused(gate("TRACE", "/api/internal/metrics", { metrics: false })).status, 404);
    const metrics = refused(gate("TRACE", "/api/internal/metrics", { metrics: true }));
    assert.equal(metrics.status, 405);
    assert.equal(metrics.headers.get("allow"), "GET, HEAD");
    const page = refused(gate("TRACE", "/signup", { metrics: false }));
    assert.equal(page.status, 405);
    assert.equal(page.headers.get("allow"), "GET, HEAD");
  });

  it("broken percent-encoding under /api names no endpoint: 404 JSON; elsewhere Next answers", async () => {
    for (const target of ["/api/%ff", "/api/captcha%ff", "/api/a%c0%af", "/api/%e2%82"]) {
      const r = refused(gate("GET", target, { metrics: false }));
      assert.equal(r.status, 404, target);
      assert.equal(await code(r), "not_found");
    }
    assert.deepEqual(gate("GET", "/signup%ff", { metrics: false }), { pass: true, url: "/signup%ff" });
    assert.deepEqual(gate("GET", "/api/me?x=%ff", { metrics: false }), { pass: true, url: "/api/me?x=%ff" });
  });

  it("Next's image optimizer is no route here: 404 for every method and spelling, before Next fetches anything", async () => {
    for (const target of ["/_next/image?url=%2Fapi%2Fcaptcha&w=64&q=75", "/_next/image?url=%2Fapi%2F%25ff&w=64&q=75", "/_next/image/", "/x/../_next/image?url=/"]) {
      for (const method of ["GET", "HEAD", "POST"]) {
        const r = refused(gate(method, target, { metrics: false }));
        assert.equal(r.status, 404, `${method} ${target}`);
      }
    }
    // Its other paths (the app's scripts and styles) still pass.
    assert.equal(gate("GET", "/_next/static/chunks/main.js", { metrics: false }).pass, true);
  });

  it("classifies a path as Next routes it, dot segments resolved: `/%2e%2e/api/%ff` is /api/%ff", async () => {
    for (const target of ["/%2e%2e/api/%ff", "/%2E/api/%ff", "/%2e%2e/%2e%2e/api/x%ff", "/x/../api/%ff", "/./api/me%ff"]) {
      const r = refused(gate("GET", target, { metrics: false }));
      assert.equal(r.status, 404, target);
      assert.equal(await code(r), "not_found");
    }
    const trace = refused(gate("TRACE", "/%2e%2e/api/me", { metrics: false }));
    assert.equal(trace.status, 405);
    assert.equal(trace.headers.get("allow"), "GET, HEAD, OPTIONS");
    // A doubled slash is a path, not a host: `//api/%ff` is no /api path (Next redirects it).
    assert.deepEqual(gate("GET", "//api/%ff", { metrics: false }), { pass: true, url: "//api/%ff" });
  });

  it("a target in absolute form is taken as this site's path; any other form is a 400", () => {
    assert.deepEqual(gate("GET", "http://elsewhere.example/signup?a=1", { metrics: false }), { pass: true, url: "/signup?a=1" });
    assert.deepEqual(gate("POST", "HTTPS://elsewhere.example/api/login", { metrics: false }), { pass: true, url: "/api/login" });
    for (const target of ["*", "elsewhere.example:443", "ftp://elsewhere.example/x", "http://"]) {
      assert.equal(refused(gate("GET", target, { metrics: false })).status, 400, target);
    }
  });

  it("sends the security headers next.config.mjs gives every response Next sends", async () => {
    const config = ((await import(pathToFileURL(path.resolve("next.config.mjs")).href)) as { default: { headers: () => Promise<{ source: string; headers: { key: string; value: string }[] }[]> } }).default;
    const rules = await config.headers();
    const all = rules.find((r) => r.source === "/:path*");
    assert.ok(all, "next.config.mjs has a rule for every path");
    assert.deepEqual(Object.fromEntries(all.headers.map((h) => [h.key.toLowerCase(), h.value])), SECURITY_HEADERS);
  });

  it("passes every method Next takes, untouched", () => {
    for (const method of ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]) {
      assert.deepEqual(gate(method, "/api/me", { metrics: false }), { pass: true, url: "/api/me" });
    }
  });

  it("a page takes GET and HEAD only: a POST (a server action named by header or multipart field) is a plain 405 before Next", async () => {
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      for (const target of ["/signup", "/", "/no-such-page", "/%2e%2e/signup"]) {
        const verdict = gate(method, target, { metrics: false });
        assert.equal(verdict.pass, false, `${method} ${target}`);
        if (!verdict.pass) {
          assert.equal(verdict.response.status, 405);
          assert.equal(verdict.response.headers.get("allow"), "GET, HEAD");
        }
      }
    }
    for (const method of ["GET", "HEAD"]) assert.equal(gate(method, "/signup", { metrics: false }).pass, true);
    // OPTIONS says so itself (Next answers a page's OPTIONS with a 400, or a 405 with Allow twice).
    for (const target of ["/signup", "/", "/no-such-page"]) {
      const options = refused(gate("OPTIONS", target, { metrics: false }));
      assert.equal(options.status, 204);
      assert.equal(options.headers.get("allow"), "GET, HEAD");
    }
    // Next's own paths take what pages take in production, where a POST there would look up a
    // server action too; in development its tools post to them.
    for (const target of ["/_next/foo", "/__nextjs_original-stack-frames", "/_next/static/chunks/x.js"]) {
      const verdict = gate("POST", target, { metrics: false });
      assert.equal(verdict.pass, false, target);
      if (!verdict.pass) assert.equal(verdict.response.status, 405);
      assert.equal(gate("GET", target, { metrics: false }).pass, true);
      assert.equal(gate("POST", target, { metrics: false, dev: true }).pass, true);
    }
  });

  it("drops the headers only Next's middleware, server actions and prefetches send, and the router's under /api", () => {
    const sent = { "x-middleware-prefetch": "1", "x-middleware-subrequest": "middleware", "next-action": "abc", "next-router-prefetch": "1", rsc: "1", "next-url": "/x", cookie: "a=b" };
    const api = nextHeaders("/api/me", sent);
    assert.ok("drop" in api);
    assert.deepEqual(new Set(api.drop), new Set(["x-middleware-prefetch", "x-middleware-subrequest", "next-action", "next-router-prefetch", "rsc", "next-url"]));
    // A page keeps what the client router sends for its own navigations (rsc, next-url).
    const page = nextHeaders("/password?from=login", sent);
    assert.ok("drop" in page);
    assert.deepEqual(new Set(page.drop), new Set(["x-middleware-prefetch", "x-middleware-subrequest", "next-action", "next-router-prefetch"]));
    assert.deepEqual(nextHeaders("/signup", { cookie: "a=b" }), { drop: [] });
  });

  it("a router state a page cannot be rendered with is a 400 before Next (which answers it a 500 and a stack trace); one Next's router sends passes", async () => {
    for (const state of ["garbage", "%5B%5D", "null", "%7B%7D", "%5B%22%22%5D", "%E0%A4%A"]) {
      const verdict = nextHeaders("/signup", { rsc: "1", "next-router-state-tree": state });
      assert.ok("refuse" in verdict, state);
      assert.equal(verdict.refuse.status, 400);
    }
    // The shape of Next's own state (next/dist/server/app-render/types.js); the password page's push to /login in e2e sends a real one.
    const valid = encodeURIComponent(JSON.stringify(["", { children: ["password", { children: ["__PAGE__", {}, null, null] }, null, null] }, null, "refetch"]));
    assert.deepEqual(nextHeaders("/login", { rsc: "1", "next-router-state-tree": valid }), { drop: [] });
    // Under /api the router's headers are dropped, whatever they hold.
    assert.deepEqual(nextHeaders("/api/me", { "next-router-state-tree": "garbage" }), { drop: ["next-router-state-tree"] });
  });

  it("holds every endpoint's Allow as its route module answers OPTIONS", async () => {
    const root = path.resolve("app/api");
    const found: Record<string, string> = {};
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const full = path.join(dir, name);
        if (statSync(full).isDirectory()) walk(full);
        else if (name === "route.ts") found[`/api/${path.relative(root, dir).split(path.sep).join("/")}`] = full;
      }
    };
    walk(root);
    // The catch-all and the metrics endpoint are not endpoints of the table (see gate.ts).
    delete found["/api/[[...path]]"];
    delete found["/api/internal/metrics"];
    assert.deepEqual(Object.keys(found).sort(), Object.keys(ENDPOINT_METHODS).sort());
    for (const [route, file] of Object.entries(found)) {
      const routeModule = (await import(pathToFileURL(file).href)) as { OPTIONS: (req: Request) => Promise<Response> };
      const answer = await routeModule.OPTIONS(new Request(`http://holdfast.test${route}`, { method: "OPTIONS" }));
      assert.equal(answer.headers.get("allow"), ENDPOINT_METHODS[route], route);
    }
  });
});
