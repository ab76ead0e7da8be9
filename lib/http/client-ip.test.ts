import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clientIp, PEER_HEADER } from "./client-ip";

const req = (headers: Record<string, string>) => new Request("http://x/", { headers });

describe("client address", () => {
  it("without TRUST_PROXY: the socket's peer, whatever X-Forwarded-For says", () => {
    assert.equal(clientIp(req({ [PEER_HEADER]: "203.0.113.9", "x-forwarded-for": "1.2.3.4" }), false), "203.0.113.9");
  });

  it("with TRUST_PROXY: the right-most hop that is not our proxy", () => {
    assert.equal(clientIp(req({ [PEER_HEADER]: "127.0.0.1", "x-forwarded-for": "198.51.100.7" }), true), "198.51.100.7");
    assert.equal(clientIp(req({ [PEER_HEADER]: "10.0.0.2", "x-forwarded-for": "198.51.100.7, 10.0.0.1" }), true), "198.51.100.7");
  });

  it("a client cannot rotate its address by sending its own X-Forwarded-For", () => {
    const spoofed = clientIp(req({ [PEER_HEADER]: "127.0.0.1", "x-forwarded-for": "6.6.6.6, 198.51.100.7" }), true);
    assert.equal(spoofed, "198.51.100.7");
  });

  it("all hops internal: the left-most one", () => {
    assert.equal(clientIp(req({ [PEER_HEADER]: "127.0.0.1", "x-forwarded-for": "192.168.1.5" }), true), "192.168.1.5");
  });
});
