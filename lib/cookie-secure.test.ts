import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PEER_HEADER } from "./http/client-ip";
import { parseConfig } from "./env";
import { createServices } from "./services";

describe("an always-Secure cookie served over http", () => {
  it("is said in the log once, naming the host, except on loopback where browsers keep it", async () => {
    const services = createServices(parseConfig({ SESSION_SECRET: "s".repeat(40), DATABASE_URL: "postgres://unused/unused", SESSION_STORE: "memory", SESSION_COOKIE_SECURE: "true" }));
    const request = (host: string) => ({ headers: new Headers({ host, [PEER_HEADER]: "203.0.113.9", "x-holdfast-proto": "http" }), url: `http://${host}/api/captcha` });
    const lines: string[] = [];
    const warn = console.warn;
    console.warn = (...parts: unknown[]) => void lines.push(parts.join(" "));
    try {
      assert.equal(services.sessions.secure(request("localhost:3000")), true);
      assert.equal(services.sessions.secure(request("127.0.0.1:3000")), true);
      assert.deepEqual(lines, []);
      assert.equal(services.sessions.secure(request("shop.example.test")), true);
      assert.equal(services.sessions.secure(request("shop.example.test")), true);
    } finally {
      console.warn = warn;
      await services.close();
    }
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0]!, /a request to shop\.example\.test came over http, and the session cookie is always Secure/);
  });
});

describe("a SESSION_COOKIE_DOMAIN that does not cover the host", () => {
  it("is said in the log once, naming the host and the fix; a covered host says nothing", async () => {
    const services = createServices(parseConfig({ SESSION_SECRET: "s".repeat(40), DATABASE_URL: "postgres://unused/unused", SESSION_STORE: "memory", SESSION_COOKIE_DOMAIN: "example.test" }));
    const request = (host: string) => ({ headers: new Headers({ host, [PEER_HEADER]: "203.0.113.9", "x-holdfast-proto": "https" }), url: `https://${host}/api/captcha` });
    const lines: string[] = [];
    const warn = console.warn;
    console.warn = (...parts: unknown[]) => void lines.push(parts.join(" "));
    try {
      services.sessions.secure(request("example.test"));
      services.sessions.secure(request("shop.example.test"));
      assert.deepEqual(lines, []);
      // An address (a scanner asking by IP) is not a site's name: nothing to say.
      services.sessions.secure(request("203.0.113.7"));
      assert.deepEqual(lines, []);
      services.sessions.secure(request("shop.other.test"));
      services.sessions.secure(request("shop.other.test"));
    } finally {
      console.warn = warn;
      await services.close();
    }
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0]!, /a request came to shop\.other\.test, which SESSION_COOKIE_DOMAIN=example\.test does not cover: browsers refuse the session cookie there/);
    // A name that merely ends like the domain is not covered by it.
    const fresh = createServices(parseConfig({ SESSION_SECRET: "s".repeat(40), DATABASE_URL: "postgres://unused/unused", SESSION_STORE: "memory", SESSION_COOKIE_DOMAIN: "example.test" }));
    const more: string[] = [];
    console.warn = (...parts: unknown[]) => void more.push(parts.join(" "));
    try {
      fresh.sessions.secure(request("badexample.test"));
    } finally {
      console.warn = warn;
      await fresh.close();
    }
    assert.equal(more.length, 1, "badexample.test is not under example.test");
  });
});
