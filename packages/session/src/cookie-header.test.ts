import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readCookie, readCookies } from "./cookie-header.js";
import { createSessions } from "./sessions.js";
import { createCookieStore } from "./stores/cookie.js";
import { createMemoryStore } from "./stores/memory.js";

describe("readCookie", () => {
  it("finds the named cookie among others, and takes an empty value as none", () => {
    assert.equal(readCookie("a=1; holdfast_session=tok; b=2", "holdfast_session"), "tok");
    assert.equal(readCookie("holdfast_session=; a=1", "holdfast_session"), undefined);
    assert.equal(readCookie("HOLDFAST_SESSION=tok", "holdfast_session"), undefined);
    assert.equal(readCookie(null, "holdfast_session"), undefined);
    // RFC 6265 lets a value stand in double quotes: they are no part of it, and `""` is empty.
    assert.equal(readCookie('holdfast_session=""; a=1', "holdfast_session"), undefined);
    assert.equal(readCookie('holdfast_session="tok"', "holdfast_session"), "tok");
    assert.deepEqual(readCookies('sid=""; sid="a"; sid=a', "sid"), ["a"]);
  });

  it("reads it from a long header too: a browser carrying many other cookies is still logged in, and can log out", () => {
    const others = Array.from({ length: 300 }, (_, i) => `analytics_${i}=${"x".repeat(40)}`).join("; ");
    assert.ok(others.length > 12 * 1024);
    assert.equal(readCookie(`${others}; holdfast_session=tok`, "holdfast_session"), "tok");
    assert.equal(readCookie(`holdfast_session=tok; ${others}`, "holdfast_session"), "tok");
  });
});

describe("the cookie outlives the session it names", () => {
  it("a request after the idle timeout still carries the cookie, and is told the session ended, not that no cookie came", async () => {
    let now = 1_000_000;
    const sessions = createSessions({ store: createMemoryStore(), cookie: { name: "sid", secure: false }, idleTimeoutMs: 30_000, absoluteTimeoutMs: 60_000, now: () => now });
    const started = await sessions.handle(new Request("http://x/"), async (session) => {
      await session.set("captcha", "pending");
      return new Response(null);
    });
    const header = started.headers.get("set-cookie") ?? "";
    // The idle and the absolute timeout past the write, in seconds: longer than the session lives.
    assert.match(header, /; Max-Age=90(;|$)/);
    const cookie = header.split(";")[0]!;

    now += 31_000;
    let state: string | undefined;
    await sessions.handle(new Request("http://x/", { headers: { cookie } }), async (session) => {
      state = await session.state();
      return new Response(null);
    });
    assert.equal(state, "unknown");
  });
});

describe("several cookies by the session's name (one set under an earlier Domain, sent first)", () => {
  it("readCookies keeps each value once, in order, at most four", () => {
    assert.deepEqual(readCookies("sid=old; a=1; sid=new; sid=old; sid=", "sid"), ["old", "new"]);
    assert.deepEqual(readCookies("sid=1; sid=2; sid=3; sid=4; sid=5", "sid"), ["1", "2", "3", "4"]);
    assert.deepEqual(readCookies(null, "sid"), []);
  });

  it("the request is served by the first that names a live session; with none live, by the first", async () => {
    const sessions = createSessions({ store: createMemoryStore(), cookie: { name: "sid", secure: false } });
    const started = await sessions.handle(new Request("http://x/"), async (session) => {
      await session.set("captcha", "pending");
      return new Response(null);
    });
    const live = started.headers.get("set-cookie")!.split(";")[0]!.slice("sid=".length);
    const seen = async (cookie: string) => {
      let value: unknown;
      let state: string | undefined;
      await sessions.handle(new Request("http://x/", { headers: { cookie } }), async (session) => {
        state = await session.state();
        value = await session.get("captcha");
        return new Response(null);
      });
      return { state, value };
    };
    assert.deepEqual(await seen(`sid=stale-from-the-old-domain; sid=${live}`), { state: "live", value: "pending" });
    assert.deepEqual(await seen(`sid=${live}; sid=stale`), { state: "live", value: "pending" });
    assert.deepEqual(await seen("sid=stale; sid=also-stale"), { state: "unknown", value: undefined });
    // A Domain changed more than once: the live one fourth is still found; a fifth is not looked at.
    assert.deepEqual(await seen(`sid=s1; sid=s2; sid=s3; sid=${live}`), { state: "live", value: "pending" });
    assert.deepEqual(await seen(`sid=s1; sid=s2; sid=s3; sid=s4; sid=${live}`), { state: "unknown", value: undefined });
  });
});

describe("two live sealed cookies by the session's name (the cookie store, after a Domain change)", () => {
  it("the one written last is served, whichever the browser sends first, so a captcha issued since is found", async () => {
    let now = 1_000_000;
    const sessions = createSessions({ store: createCookieStore({ cookieName: "sid", secrets: ["p".repeat(32)], ttlSeconds: 3_600 }), cookie: { name: "sid", secure: false }, now: () => now });
    const sealed = async (cookie: string | undefined, value: string) => {
      const r = await sessions.handle(new Request("http://x/", cookie ? { headers: { cookie } } : {}), async (session) => {
        await session.set("captcha", value);
        return new Response(null);
      });
      return r.headers.get("set-cookie")!.split(";")[0]!.slice("sid=".length);
    };
    // The host-only cookie from before the change; then the site, now setting a Domain, writes a
    // new seal beside it (the browser keeps both and sends the older first).
    const old = await sealed(undefined, "from-before");
    now += 60_000;
    const current = await sealed(`sid=${old}`, "issued-since");
    let seen: unknown;
    await sessions.handle(new Request("http://x/", { headers: { cookie: `sid=${old}; sid=${current}` } }), async (session) => {
      seen = await session.get("captcha");
      return new Response(null);
    });
    assert.equal(seen, "issued-since");
  });
});

describe("a host-only cookie kept from before a Domain was set", () => {
  it("is expired by every write that carried it beside the Domain one, a logout's included, so an old seal cannot come back", async () => {
    const sessions = createSessions({ store: createCookieStore({ cookieName: "sid", secrets: ["p".repeat(32)], ttlSeconds: 3_600 }), cookie: { name: "sid", domain: "example.test", secure: false } });
    const setCookies = async (cookie: string | undefined, run: (session: import("./session.js").Session) => Promise<void>) =>
      (
        await sessions.handle(new Request("http://app.example.test/", cookie ? { headers: { cookie } } : {}), async (session) => {
          await run(session);
          return new Response(null);
        })
      ).headers.getSetCookie();
    const [first] = await setCookies(undefined, (s) => s.set("n", 1));
    const old = first!.split(";")[0]!.slice("sid=".length);
    // One cookie: one header, with the Domain.
    expect1(await setCookies(`sid=${old}`, (s) => s.set("n", 2)), ["Domain=example.test"]);
    // Two (the host-only one from before, and the Domain one): a logout clears both.
    const both = await setCookies(`sid=${old}; sid=${old}x`, (s) => s.destroy());
    assert.equal(both.length, 2, both.join("\n"));
    assert.match(both[0]!, /^sid=; .*Domain=example\.test/);
    assert.match(both[1]!, /^sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=\//);
    assert.doesNotMatch(both[1]!, /Domain=/);
  });
});

function expect1(headers: string[], parts: string[]) {
  assert.equal(headers.length, 1, headers.join("\n"));
  for (const part of parts) assert.ok(headers[0]!.includes(part), headers[0]);
}

describe("two cookies by the session's name while the store fails", () => {
  it("choosing between them throws nothing: the first cookie's session fails at its first use, as any would", async () => {
    const inner = createMemoryStore();
    let down = false;
    const store: typeof inner = {
      ...inner,
      name: inner.name,
      read: async (token, now) => {
        if (down) throw new Error("store down");
        return inner.read(token, now);
      },
    };
    const sessions = createSessions({ store, cookie: { name: "sid", secure: false } });
    down = true;
    const session = await sessions.fromCookieHeader("sid=a; sid=b");
    assert.equal(session.hasCookie, true);
    await assert.rejects(session.state(), /store down/);
  });
});
