import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clientIp, PEER_HEADER, peerHeaderValue, rateLimitAddress, rateLimitNetwork, trustedForwardedValue } from "./client-ip";

const req = (headers: Record<string, string>) => new Request("http://x/", { headers });

describe("client address", () => {
  it("without TRUST_PROXY: the socket's peer, whatever X-Forwarded-For says", () => {
    assert.equal(clientIp(req({ [PEER_HEADER]: peerHeaderValue("203.0.113.9"), "x-forwarded-for": "1.2.3.4" }), 0), "203.0.113.9");
  });

  it("behind one proxy: the hop that proxy appended", () => {
    assert.equal(clientIp(req({ [PEER_HEADER]: peerHeaderValue("127.0.0.1"), "x-forwarded-for": "198.51.100.7" }), 1), "198.51.100.7");
    assert.equal(clientIp(req({ [PEER_HEADER]: peerHeaderValue("127.0.0.1"), "x-forwarded-for": "10.1.2.3" }), 1), "10.1.2.3");
  });

  it("a client cannot choose its address by sending its own X-Forwarded-For", () => {
    // The client wrote 6.6.6.6 and 203.0.113.1; nginx appended the real peer, 127.0.0.1.
    assert.equal(clientIp(req({ [PEER_HEADER]: peerHeaderValue("127.0.0.1"), "x-forwarded-for": "6.6.6.6, 203.0.113.1, 127.0.0.1" }), 1), "127.0.0.1");
  });

  it("behind two proxies: the second hop from the right", () => {
    assert.equal(clientIp(req({ [PEER_HEADER]: peerHeaderValue("10.0.0.2"), "x-forwarded-for": "6.6.6.6, 198.51.100.7, 10.0.0.1" }), 2), "198.51.100.7");
  });

  it("a peer header the app's server did not set (a client's own, where Next runs without server.ts) is not believed", () => {
    assert.equal(clientIp(req({ [PEER_HEADER]: "203.0.113.77", "x-forwarded-for": "198.51.100.7" }), 0), "198.51.100.7");
    assert.equal(clientIp(req({ [PEER_HEADER]: "203.0.113.77" }), 0), "unknown");
    // The server's own with no address (a socket already gone): not the client's X-Forwarded-For either.
    assert.equal(clientIp(req({ [PEER_HEADER]: peerHeaderValue(""), "x-forwarded-for": "198.51.100.7" }), 0), "unknown");
  });

  it("a missing or malformed header falls back to the peer", () => {
    assert.equal(clientIp(req({ [PEER_HEADER]: peerHeaderValue("127.0.0.1") }), 1), "127.0.0.1");
    assert.equal(clientIp(req({ [PEER_HEADER]: peerHeaderValue("127.0.0.1"), "x-forwarded-for": "not-an-ip" }), 1), "127.0.0.1");
  });
});

describe("the address the rate limits count", () => {
  it("IPv4 as it is, also when it arrives IPv4-mapped on an IPv6 socket", () => {
    assert.equal(rateLimitAddress("203.0.113.9"), "203.0.113.9");
    assert.equal(rateLimitAddress("::ffff:203.0.113.9"), "203.0.113.9");
    assert.equal(rateLimitAddress("::FFFF:203.0.113.9"), "203.0.113.9");
  });

  it("the wider network of an IPv6 client is its /48; IPv4, mapped or not, has none", () => {
    const one = ["2001:db8:1:2::1", "2001:db8:1:ffff::9", "2001:0DB8:0001:0000:0:0:0:1"].map(rateLimitNetwork);
    assert.deepEqual(new Set(one), new Set(["2001:db8:1::/48"]));
    assert.equal(rateLimitNetwork("2001:db8:2::1"), "2001:db8:2::/48");
    assert.equal(rateLimitNetwork("203.0.113.9"), undefined);
    assert.equal(rateLimitNetwork("::ffff:203.0.113.9"), undefined);
    assert.equal(rateLimitNetwork("not-an-ip"), undefined);
  });

  it("IPv6 by its /64: every address of one network is one client, the next network another", () => {
    const one = ["2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:0DB8:0001:0002:0:0:0:9", "2001:db8:1:2::5%eth0"].map(rateLimitAddress);
    assert.deepEqual(new Set(one), new Set(["2001:db8:1:2::/64"]));
    assert.equal(rateLimitAddress("2001:db8:1:3::1"), "2001:db8:1:3::/64");
    assert.equal(rateLimitAddress("::1"), "::/64");
  });

  it("anything that is not an address is counted as it is", () => {
    assert.equal(rateLimitAddress("unknown"), "unknown");
    assert.equal(rateLimitAddress(""), "");
  });
});

describe("the forwarded scheme and host our proxies vouch for", () => {
  it("one value is taken as it is", () => {
    assert.equal(trustedForwardedValue("https", 1), "https");
    assert.equal(trustedForwardedValue(" example.com ", 2), "example.com");
  });

  it("of several, the one our N-th proxy from the right appended, never the client's", () => {
    // The client wrote https; our proxy, reached over http, appended http.
    assert.equal(trustedForwardedValue("https, http", 1), "http");
    assert.equal(trustedForwardedValue("https,http", 1), "http");
    assert.equal(trustedForwardedValue("http, https, http", 2), "https");
    // Fewer values than proxies: the first there is.
    assert.equal(trustedForwardedValue("https, http", 5), "https");
  });
});
