import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PROTO_HEADER } from "./client-ip";
import { isSameOrigin, ownOriginMismatch, readBody, siteOrigin } from "./request";

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

  it("a scheme or host a proxy sends in capitals is the same origin as the browser's lowercase one", () => {
    assert.equal(siteOrigin(req({ "x-forwarded-proto": "HTTPS", "x-forwarded-host": "Site.Test" }), 1), "https://site.test");
    assert.equal(siteOrigin(req({ host: "SITE.test" }), 0), "http://site.test");
    const post = new Request("http://site.test/api/login", { method: "POST", headers: { host: "site.test", [PROTO_HEADER]: "http", origin: "https://site.test", "x-forwarded-proto": "Https" } });
    assert.equal(isSameOrigin(post, 1), true);
  });

  it("a scheme's default port in the Host or X-Forwarded-Host is no port, as in a browser's Origin; another port stays", () => {
    assert.equal(siteOrigin(req({ host: "site.test:80" }), 0), "http://site.test");
    assert.equal(siteOrigin(req({ "x-forwarded-proto": "https", "x-forwarded-host": "site.test:443" }), 1), "https://site.test");
    assert.equal(siteOrigin(req({ "x-forwarded-proto": "https", "x-forwarded-host": "site.test:80" }), 1), "https://site.test:80");
    assert.equal(siteOrigin(req({ host: "site.test:8080" }), 0), "http://site.test:8080");
    assert.equal(siteOrigin(req({ host: "[::1]:80" }), 0), "http://[::1]");
  });

  it("a state-changing request from the client-written forwarded origin is cross-origin", () => {
    const post = (origin: string) => new Request("http://site.test/api/login", { method: "POST", headers: { host: "site.test", [PROTO_HEADER]: "http", origin, "x-forwarded-host": "evil.example, site.test", "x-forwarded-proto": "https, http" } });
    assert.equal(isSameOrigin(post("https://evil.example"), 1), false);
    assert.equal(isSameOrigin(post("http://site.test"), 1), true);
  });
});

describe("a JSON body's text", () => {
  const post = (body: number[] | Buffer | string, type = "application/json") =>
    new Request("http://site.test/api/login", { method: "POST", headers: { "content-type": type }, body: typeof body === "string" ? body : new Blob([Buffer.from(body)]) });
  const utf16le = (text: string) => Buffer.from(`\ufeff${text}`, "utf16le");

  it("is read past a byte order mark, and in the charset the Content-Type declares", async () => {
    assert.deepEqual(await readBody(post(`\ufeff{"login":"é"}`)), { ok: true, body: { login: "é" }, form: false });
    assert.deepEqual(await readBody(post(utf16le('{"login":"é"}'), "application/json; charset=utf-16le")), { ok: true, body: { login: "é" }, form: false });
    assert.deepEqual(await readBody(post([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d], "application/json; charset=ISO-8859-1")), { ok: true, body: { a: "é" }, form: false });
  });

  it("a name given twice counts once, the last one, in JSON and in a form alike (as the contract says)", async () => {
    assert.deepEqual(await readBody(post('{"everywhere":true,"everywhere":false}')), { ok: true, body: { everywhere: false }, form: false });
    assert.deepEqual(await readBody(post("everywhere=1&everywhere=0", "application/x-www-form-urlencoded")), { ok: true, body: { everywhere: "0" }, form: true });
  });

  it("a form is parsed as URLSearchParams parses it, except that a value whose bytes are not UTF-8 is no text (a control character), never a U+FFFD in a field", async () => {
    const form = (body: string | number[]) => post(body, "application/x-www-form-urlencoded");
    for (const sample of [
      "login=a+b%2Bc&password=%C3%A9%E2%82%AC%25zz%&=x&flag&next=%2Fpassword&login=last",
      // A byte order mark, escaped or not, is a character like any other; __proto__ a name like any other.
      "%EF%BB%BFlogin=a&password=%EF%BB%BFsecret&__proto__=x",
      "\ufefflogin=a&password=\u00e9%41",
    ]) {
      assert.deepEqual(await readBody(form(sample)), { ok: true, body: Object.fromEntries(new URLSearchParams(sample)), form: true }, sample);
    }
    // Not UTF-8 once decoded: that value is a control character, which every field refuses and no
    // draft keeps; the rest of the form is read as sent, and a name that is not text names nothing.
    const read = async (body: string | number[]) => {
      const r = await readBody(form(body));
      return r.ok ? r.body : r;
    };
    assert.deepEqual(await read("login=ok&password=%FFsecret"), { login: "ok", password: "\u0000" });
    assert.deepEqual(await read("password=%E2%82&username=kept"), { password: "\u0000", username: "kept" });
    assert.deepEqual(await read("%FF=x&login=ok"), { login: "ok" });
    assert.deepEqual(await read("password=%C3%A9&password=%FF"), { password: "\u0000" });
    // Beside a broken pair, the rest is read exactly as URLSearchParams reads it.
    const rest = "a=b+c%2B%25zz%&__proto__=x&%EF%BB%BFk=v&z&&=e&a=last";
    assert.deepEqual(await read(`${rest}&%FF=1`), Object.fromEntries(new URLSearchParams(rest)));
    // A raw byte that is not UTF-8, outside any escape: the body is no text at all.
    assert.deepEqual(await readBody(form([0x61, 0x3d, 0xe9])), { ok: false, code: "invalid_input", form: true, fields: { body: "invalid_format" } });
  });

  it("bytes that are not text in its charset are invalid_json, never a U+FFFD in a field; an unknown charset is 415", async () => {
    const latin1 = [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d];
    assert.deepEqual(await readBody(post(latin1)), { ok: false, code: "invalid_json", form: false });
    assert.deepEqual(await readBody(post("{}", "application/json; charset=no-such-charset")), { ok: false, code: "unsupported_media_type", form: false });
  });

  it("an optional body of JSON whitespace alone is empty, and a lone non-text byte is not", async () => {
    assert.deepEqual(await readBody(post(" \r\n\t"), { optional: true }), { ok: true, body: {}, form: false });
    assert.deepEqual(await readBody(post([0xa0]), { optional: true }), { ok: false, code: "invalid_json", form: false });
  });
});

describe("a post from the site's own page refused as cross-origin names the set-up, not the person", () => {
  const post = (headers: Record<string, string>) => new Request("http://site.test/api/register", { method: "POST", headers: { host: "site.test", [PROTO_HEADER]: "http", ...headers } });

  it("a proxy that terminates TLS without saying so: the scheme, and the fix for TRUST_PROXY unset and set", () => {
    const own = { origin: "https://site.test", "sec-fetch-site": "same-origin" };
    assert.equal(isSameOrigin(post(own), 0), false);
    assert.match(ownOriginMismatch(post(own), 0) ?? "", /posted from a page at "https:\/\/site\.test", which it says is this site \(Sec-Fetch-Site: same-origin\), but this server takes its own address to be "http:\/\/site\.test".*set TRUST_PROXY=1/);
    assert.match(ownOriginMismatch(post({ ...own, "x-forwarded-proto": "http" }), 1) ?? "", /must send X-Forwarded-Proto: https/);
  });

  it("a proxy that passes another Host", () => {
    assert.match(ownOriginMismatch(post({ origin: "http://www.site.test", "sec-fetch-site": "same-origin" }), 0) ?? "", /must pass the browser's Host header/);
  });

  it("nothing to say for a post that really came from elsewhere, or that passed", () => {
    assert.equal(ownOriginMismatch(post({ origin: "https://evil.example", "sec-fetch-site": "cross-site" }), 0), null);
    assert.equal(ownOriginMismatch(post({ origin: "https://evil.example" }), 0), null);
    assert.equal(ownOriginMismatch(post({ origin: "http://site.test", "sec-fetch-site": "same-origin" }), 0), null);
  });

  it("an Origin no browser sends (a user part, a path) is written by hand: not quoted in the log, and it silences nothing", () => {
    for (const origin of ["https://victim-john.doe@example.com", "https://site.test/path", "null", "https://site.test:99999999", "HTTPS://SITE.TEST"]) {
      assert.equal(ownOriginMismatch(post({ origin, "sec-fetch-site": "same-origin" }), 0), null, origin);
    }
    assert.notEqual(ownOriginMismatch(post({ origin: "https://[::1]:8443", "sec-fetch-site": "same-origin" }), 0), null);
  });
});

describe("a body the client stops sending", () => {
  it("is invalid_json, not an error: the client hung up mid-body (ECONNRESET), and nothing failed on this side", async () => {
    for (const optional of [false, true]) {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"login":"al'));
          controller.error(Object.assign(new Error("aborted"), { code: "ECONNRESET" }));
        },
      });
      const req = new Request("http://holdfast.test/api/login", { method: "POST", headers: { "content-type": "application/json" }, body, duplex: "half" } as RequestInit);
      assert.deepEqual(await readBody(req, { optional }), { ok: false, code: "invalid_json", form: false });
    }
  });
});

describe("a compressed body", () => {
  it("is unsupported_media_type: it is not read as its compressed bytes; identity is no encoding", async () => {
    const body = JSON.stringify({ login: "someone", password: "a-long-password" });
    const post = (encoding: string) => new Request("http://holdfast.test/api/login", { method: "POST", headers: { "content-type": "application/json", "content-encoding": encoding }, body });
    assert.deepEqual(await readBody(post("gzip")), { ok: false, code: "unsupported_media_type", form: false });
    assert.deepEqual(await readBody(post("br"), { optional: true }), { ok: false, code: "unsupported_media_type", form: false });
    assert.equal((await readBody(post("identity"))).ok, true);
  });
});
