import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PEER_HEADER, peerHeaderValue } from "./http/client-ip";
import { parseConfig, type Env } from "./env";
import { createServices, type Services } from "./services";

/** What the services made from `env` log (into `lines`, as it goes) while `run` asks for the cookie's Secure decision. */
async function warnings(env: Env, run: (services: Services, lines: string[]) => void): Promise<string[]> {
  const services = createServices(parseConfig({ SESSION_SECRET: "s".repeat(40), DATABASE_URL: "postgres://unused/unused", SESSION_STORE: "memory", ...env }));
  const lines: string[] = [];
  const warn = console.warn;
  console.warn = (...parts: unknown[]) => void lines.push(parts.join(" "));
  try {
    run(services, lines);
  } finally {
    console.warn = warn;
    await services.close();
  }
  return lines;
}

/** A browser's request (it sends Sec-Fetch-Site); `browser: false` for a script's, which does not. */
const request = (scheme: "http" | "https", host: string, browser = true) => ({
  headers: new Headers({ host, [PEER_HEADER]: peerHeaderValue("203.0.113.9"), "x-holdfast-proto": scheme, ...(browser ? { "sec-fetch-site": "same-origin" } : {}) }),
  url: `${scheme}://${host}/api/captcha`,
});

describe("an always-Secure cookie served over http", () => {
  it("is said in the log once, naming the host, except on loopback where browsers keep it", async () => {
    const lines = await warnings({ SESSION_COOKIE_SECURE: "true" }, (services, lines) => {
      assert.equal(services.sessions.secure(request("http", "localhost:3000")), true);
      assert.equal(services.sessions.secure(request("http", "127.0.0.1:3000")), true);
      assert.deepEqual(lines, []);
      assert.equal(services.sessions.secure(request("http", "shop.example.test")), true);
      assert.equal(services.sessions.secure(request("http", "shop.example.test")), true);
    });
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0]!, /a request to shop\.example\.test came over http, and the session cookie is always Secure/);
  });
});

describe("a SESSION_COOKIE_DOMAIN that does not cover the host", () => {
  const domain = { SESSION_COOKIE_DOMAIN: "example.test" };

  it("is said in the log once, naming the host and the fix; a covered host says nothing", async () => {
    const lines = await warnings(domain, (services, lines) => {
      services.sessions.secure(request("https", "example.test"));
      services.sessions.secure(request("https", "shop.example.test"));
      assert.deepEqual(lines, []);
      // An address (a scanner asking by IP) is not a site's name: nothing to say.
      services.sessions.secure(request("https", "203.0.113.7"));
      assert.deepEqual(lines, []);
      // Nor a script naming any Host (no browser sends a request without Sec-Fetch-Site): it
      // neither chooses the warning's words nor silences the real one for ten minutes.
      services.sessions.secure(request("https", "attacker.example", false));
      assert.deepEqual(lines, []);
      services.sessions.secure(request("https", "shop.other.test"));
      services.sessions.secure(request("https", "shop.other.test"));
    });
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0]!, /a request came to shop\.other\.test, which SESSION_COOKIE_DOMAIN=example\.test does not cover: browsers refuse the session cookie there/);
  });

  it("a name that merely ends like the domain is not covered by it", async () => {
    const lines = await warnings(domain, (services) => void services.sessions.secure(request("https", "badexample.test")));
    assert.equal(lines.length, 1, "badexample.test is not under example.test");
  });
});
