import { randomBytes } from "node:crypto";
import type { Expectation, Probe, SendInit } from "./http";

/**
 * Part 1: malformed and hostile requests, each with the one outcome the contract allows.
 * No request here carries a live session, so nothing can be created: any 2xx where a refusal
 * is expected is counted as an unexpected accept. A register body carries a fresh, valid proof of
 * work (FRESH_PROOF, replaced just before sending: each challenge is single-use), so what is
 * refused is what the case is about; the proof's own hostile values are security/pow.ts's.
 */

interface Case {
  label: string;
  path: string;
  init: SendInit;
  want: Expectation;
}

const id = () => randomBytes(4).toString("hex");
/** Stands for a fresh proof of work in a body; letters only, so it survives JSON and form encoding as is. */
const FRESH_PROOF = "FRESHPROOFOFWORKPLACEHOLDER";
const PASSWORD = "fuzz-password-0123";
const json = (value: unknown) => JSON.stringify(value);

export const SQL_AND_SCRIPT = [
  "admin'--", "' OR '1'='1", "'; DROP TABLE users; --", "1 OR 1=1", 'admin" --', "a' UNION SELECT password_hash FROM users--",
  "1; SELECT pg_sleep(5)", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "{{7*7}}", "${7*7}", "$(id)", "`id`",
  "../../etc/passwd", "admin;", "javascript:alert(1)", "%27%20OR%201%3D1", "admin\\", "null\u0000", "admin\r\nSet-Cookie: x=1",
];

export const HOMOGLYPHS = [
  "\u0430dmin", "adm\u0456n", "\uff41\uff44\uff4d\uff49\uff4e", "admin\u200b", "ad\u00admin", "admin\u0301", "\u202eadmin", "\u00e4dmin",
  "admin\u{1f600}", "adm\u0131n", "admin\u212a", "admin\u0000", "admin\n", "ad\u00a0min", "ad min", "\u0391\u0392\u0393user",
];

const WRONG_TYPES: [string, string][] = [
  ["number", "123"], ["boolean", "true"], ["null", "null"], ["array", "[]"], ["array of string", '["admin_user"]'], ["object", "{}"],
  ["nested object", '{"$ne":null}'], ["huge number", "1e400"], ["big integer", "123456789012345678901234567890"], ["negative zero", "-0"],
];

/** A JSON object text with one field replaced by raw JSON (so 1e400 and the like arrive as written). */
function withRaw(fields: Record<string, unknown>, name: string, raw: string): string {
  const rest = Object.entries(fields).filter(([k]) => k !== name).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
  return `{${[...rest, `${JSON.stringify(name)}:${raw}`].join(",")}}`;
}

function bodies() {
  const u = id();
  return {
    "/api/register": { username: `sec_${u}`, email: `sec.${u}@example.test`, password: PASSWORD, captcha: "ACDEF", altcha: FRESH_PROOF },
    "/api/login": { login: `nobody_${u}`, password: PASSWORD },
    "/api/password": { currentPassword: PASSWORD, newPassword: `${PASSWORD}-new` },
    "/api/logout": { everywhere: false },
  } as Record<string, Record<string, unknown>>;
}

/** What a body of valid shape (and a valid proof of work) gets without any cookie: the first check after those. */
const VALID_SHAPE: Record<string, Expectation> = {
  "/api/register": { status: 400, codes: ["no_session"] },
  "/api/login": { status: 401, codes: ["invalid_credentials"] },
  "/api/password": { status: 401, codes: ["unauthenticated"] },
  "/api/logout": { status: 204 },
};

function transportCases(base: string): Case[] {
  const cases: Case[] = [];
  const invalidJson = ["{", '{"a":}', "{'a':1}", "[1,2,", "nul", '{"a":1}}', '{"a":1,}', "NaN", "undefined", "", '{"a":"\\x41"}'];
  const notObjects = ["[]", '[{"username":"admin_user"}]', "1", '"string"', "null", "true", "1e999", "[".repeat(5000) + "]".repeat(5000)];
  const big = "x".repeat(17 * 1024);
  for (const path of ["/api/register", "/api/login", "/api/logout", "/api/password"]) {
    const valid = bodies()[path]!;
    const post = (body: string | Uint8Array<ArrayBuffer>, headers: Record<string, string> = { "content-type": "application/json" }): SendInit => ({ method: "POST", headers, body });
    for (const body of invalidJson) {
      // Logout's body is optional: none at all, whatever the content type says, is no body.
      const want: Expectation = path === "/api/logout" && body === "" ? { status: 204 } : { status: 400, codes: ["invalid_json"] };
      cases.push({ label: `${path} broken JSON ${JSON.stringify(body.slice(0, 12))}`, path, init: post(body), want });
    }
    // A byte order mark before JSON is ignored (RFC 8259 8.1); bytes that are not UTF-8 are no JSON, never a U+FFFD in a field.
    cases.push({ label: `${path} JSON past a byte order mark`, path, init: post(`\ufeff${json(valid)}`), want: VALID_SHAPE[path]! });
    cases.push({ label: `${path} bytes that are not UTF-8`, path, init: post(new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])), want: { status: 400, codes: ["invalid_json"] } });
    for (const body of notObjects) cases.push({ label: `${path} JSON ${body.slice(0, 12)}`, path, init: post(body), want: { status: 400, codes: ["invalid_input"] } });
    const types = ["text/plain", "application/xml", "text/json", "application/json-patch+json", "application/json, text/html", "multipart/form-data; boundary=x", "application/jsonx", "application/json\u00ff", "*/*"];
    for (const type of types) cases.push({ label: `${path} content-type ${type}`, path, init: post(json(valid), { "content-type": type }), want: { status: 415, codes: ["unsupported_media_type"] } });
    cases.push({ label: `${path} no content-type`, path, init: post(new TextEncoder().encode(json(valid)), {}), want: { status: 415, codes: ["unsupported_media_type"] } });
    cases.push({ label: `${path} body of 17 KiB`, path, init: post(json({ ...valid, pad: big })), want: { status: 413, codes: ["payload_too_large"] } });
    cases.push({ label: `${path} 17 KiB of broken JSON`, path, init: post(`{${big}`), want: { status: 413, codes: ["payload_too_large"] } });
    cases.push({ label: `${path} body of 2 MiB`, path, init: post(json({ pad: "y".repeat(2 << 20) })), want: { status: 413, codes: ["payload_too_large"], proxy: [413] } });
    // A plain form post that fails lands back on its page, never on raw JSON.
    const page = { "/api/register": "/signup", "/api/login": "/login", "/api/password": "/password" }[path] ?? "/welcome";
    cases.push({ label: `${path} form of 17 KiB`, path, init: post(`a=${big}`, { "content-type": "application/x-www-form-urlencoded" }), want: { status: 303, location: `${page}?error=payload_too_large` } });
    const origins: [string, Record<string, string>][] = [
      ["Origin of another site", { origin: "https://evil.example" }],
      ["Origin: null", { origin: "null" }],
      ["Origin with https", { origin: base.replace("http:", "https:") }],
      ["Origin with a trailing slash", { origin: `${base}/` }],
      ["Origin as a suffix", { origin: `${base}.evil.example` }],
      ["Origin in upper case", { origin: base.toUpperCase() }],
      ["two Origins", { origin: `${base}, https://evil.example` }],
      ["Sec-Fetch-Site: cross-site", { "sec-fetch-site": "cross-site" }],
      ["Sec-Fetch-Site: same-site", { "sec-fetch-site": "same-site" }],
      ["Sec-Fetch-Site: cross-site with a forged X-Forwarded-Host", { "sec-fetch-site": "cross-site", "x-forwarded-host": "evil.example" }],
      ["Origin of another site with a forged X-Forwarded-Host", { origin: "http://evil.example", "x-forwarded-host": "evil.example" }],
    ];
    for (const [what, headers] of origins) {
      cases.push({ label: `${path} ${what}`, path, init: post(json(valid), { "content-type": "application/json", ...headers }), want: { status: 403, codes: ["cross_origin"] } });
    }
    cases.push({ label: `${path} form post from another site`, path, init: post(new URLSearchParams(valid as Record<string, string>).toString(), { "content-type": "application/x-www-form-urlencoded", origin: "https://evil.example" }), want: { status: 403, codes: ["cross_origin"] } });
    // The site's own origin is allowed: the control that shows the refusals above are about the origin.
    cases.push({ label: `${path} own Origin (control)`, path, init: post(json(valid), { "content-type": "application/json", origin: base }), want: VALID_SHAPE[path]! });
  }
  return cases;
}

function registerCases(): Case[] {
  const cases: Case[] = [];
  const path = "/api/register";
  const post = (body: string): SendInit => ({ method: "POST", headers: { "content-type": "application/json" }, body });
  const base = () => bodies()[path]!;
  for (const field of ["username", "email", "password", "captcha", "altcha"]) {
    for (const [what, raw] of WRONG_TYPES) cases.push({ label: `register ${field} as ${what}`, path, init: post(withRaw(base(), field, raw)), want: { status: 400, codes: ["invalid_input"], field } });
    const rest = { ...base() };
    delete rest[field];
    cases.push({ label: `register without ${field}`, path, init: post(json(rest)), want: { status: 400, codes: ["invalid_input"], field } });
  }
  // The captcha is optional in the shape (a pass or an accessible proof may stand in): `required` for it comes once the rest is valid.
  cases.push({ label: "register {}", path, init: post("{}"), want: { status: 400, codes: ["invalid_input"], field: "altcha" } });
  const long: [string, string][] = [
    ["username", "a".repeat(33)], ["username", "a".repeat(5000)], ["email", `${"a".repeat(250)}@example.test`], ["password", "p".repeat(129)],
    ["password", "p".repeat(12_000)], ["captcha", "C".repeat(33)], ["captcha", "C".repeat(4000)], ["username", "ab"], ["password", "short"],
    ["altcha", "A".repeat(4097)], ["altcha", "A".repeat(12_000)],
  ];
  for (const [field, value] of long) cases.push({ label: `register ${field} of ${value.length} characters`, path, init: post(json({ ...base(), [field]: value })), want: { status: 400, codes: ["invalid_input"], field } });
  for (const name of [...SQL_AND_SCRIPT, ...HOMOGLYPHS]) cases.push({ label: `register username ${JSON.stringify(name)}`, path, init: post(json({ ...base(), username: name })), want: { status: 400, codes: ["invalid_input"], field: "username" } });
  const emails = ["a'--@example.test", '"; DROP TABLE users;--"@x.io', "<script>@x.io", "x@x.io' OR 1=1", "x@x.io\r\nBcc: a@b.test", "admin@example.test\u0000", "\u0430dmin@example.test", "a@b"];
  for (const email of emails) cases.push({ label: `register email ${JSON.stringify(email)}`, path, init: post(json({ ...base(), email })), want: { status: 400, codes: ["invalid_input", "no_session"] } });
  // Extra and prototype fields are ignored: the request goes on to the session check, and is refused there.
  const extras: [string, string][] = [
    ["isAdmin and id", json({ ...base(), isAdmin: true, id: "00000000-0000-0000-0000-000000000000", userId: "x", role: "admin" })],
    ["__proto__", `{"__proto__":{"isAdmin":true},${json(base()).slice(1)}`],
    ["constructor.prototype", `{"constructor":{"prototype":{"isAdmin":true}},${json(base()).slice(1)}`],
    ["a duplicated username key", `{"username":"<script>",${json(base()).slice(1)}`],
  ];
  for (const [what, body] of extras) cases.push({ label: `register with ${what}`, path, init: post(body), want: { status: 400, codes: ["no_session"] } });
  cases.push({ label: "register with username only in __proto__", path, init: post(`{"__proto__":{"username":"admin_user"},"email":"p@example.test","password":"${PASSWORD}","captcha":"ACDEF","altcha":"${FRESH_PROOF}"}`), want: { status: 400, codes: ["invalid_input"], field: "username" } });
  return cases;
}

function otherEndpointCases(): Case[] {
  const cases: Case[] = [];
  const post = (body: string): SendInit => ({ method: "POST", headers: { "content-type": "application/json" }, body });
  const login = () => bodies()["/api/login"]!;
  for (const field of ["login", "password"]) {
    for (const [what, raw] of WRONG_TYPES) cases.push({ label: `login ${field} as ${what}`, path: "/api/login", init: post(withRaw(login(), field, raw)), want: { status: 400, codes: ["invalid_input"], field } });
  }
  cases.push({ label: "login of 255 characters", path: "/api/login", init: post(json({ ...login(), login: "l".repeat(255) })), want: { status: 400, codes: ["invalid_input"], field: "login" } });
  cases.push({ label: "login password of 129 characters", path: "/api/login", init: post(json({ ...login(), password: "p".repeat(129) })), want: { status: 400, codes: ["invalid_input"], field: "password" } });
  for (const name of [...SQL_AND_SCRIPT, ...HOMOGLYPHS.slice(0, 6), "admin@example.test' OR 1=1--", "%", "a\u0000@example.test"]) {
    cases.push({ label: `login ${JSON.stringify(name)}`, path: "/api/login", init: post(json({ login: name, password: "' OR '1'='1" })), want: { status: [400, 401], codes: ["invalid_input", "invalid_credentials"] } });
  }
  const pw = () => bodies()["/api/password"]!;
  for (const field of ["currentPassword", "newPassword"]) {
    for (const [what, raw] of WRONG_TYPES.slice(0, 6)) cases.push({ label: `password ${field} as ${what}`, path: "/api/password", init: post(withRaw(pw(), field, raw)), want: { status: 400, codes: ["invalid_input"], field } });
  }
  cases.push({ label: "password newPassword of 129 characters", path: "/api/password", init: post(json({ ...pw(), newPassword: "n".repeat(129) })), want: { status: 400, codes: ["invalid_input"], field: "newPassword" } });
  for (const [what, raw] of [["a string", '"yes"'], ["a number", "2"], ["an object", "{}"], ["an array", "[true]"], ["null", "null"]]) {
    cases.push({ label: `logout everywhere as ${what}`, path: "/api/logout", init: post(`{"everywhere":${raw}}`), want: { status: 400, codes: ["invalid_input"], field: "everywhere" } });
  }
  const get: [string, string, SendInit, Expectation][] = [
    ["me with a query", "/api/me?id=1&user=admin", {}, { status: 401, codes: ["unauthenticated"] }],
    ["me with a forged peer header", "/api/me", { headers: { "x-holdfast-peer": "203.0.113.1", "x-holdfast-forwarded": "1" } }, { status: 401, codes: ["unauthenticated"] }],
    ["me with an Authorization header", "/api/me", { headers: { authorization: "Bearer admin" } }, { status: 401, codes: ["unauthenticated"] }],
    ["POST me", "/api/me", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }, { status: 405 }],
    ["DELETE me", "/api/me", { method: "DELETE" }, { status: 405 }],
    ["PUT captcha", "/api/captcha", { method: "PUT", body: "{}" }, { status: 405 }],
    ["GET register", "/api/register", {}, { status: 405 }],
    ["PATCH login", "/api/login", { method: "PATCH", body: "{}" }, { status: 405 }],
    ["GET password", "/api/password", {}, { status: 405 }],
    ["captcha with a huge query", `/api/captcha?size=99999&width=${"9".repeat(2000)}`, {}, { status: 200 }],
    ["unknown api path", "/api/admin", {}, { status: 404 }],
    ["broken percent-encoding under /api", "/api/%ff", {}, { status: 404, codes: ["not_found"] }],
    ["broken percent-encoding after an endpoint", "/api/captcha%ff", {}, { status: 404, codes: ["not_found"] }],
    ["PROPFIND login", "/api/login", { method: "PROPFIND" }, { status: 405, codes: ["method_not_allowed"] }],
    ["encoded traversal", "/api/%2e%2e/%2e%2e/etc/passwd", {}, { status: [400, 404] }],
    // The app has no server actions: a POST to a page is a 405, whatever action it names, by
    // header or by multipart field (and no error is logged).
    ["a server action named on a page", "/signup", { method: "POST", headers: { "next-action": "A".repeat(42), "content-type": "text/plain;charset=UTF-8" }, body: "[]" }, { status: 405 }],
    ["a server action named on a missing page", "/nope", { method: "POST", headers: { "next-action": "7f".repeat(21), "content-type": "text/plain;charset=UTF-8" }, body: "[]" }, { status: 405 }],
    ["a server action named by a multipart field", "/signup", { method: "POST", headers: { "content-type": "multipart/form-data; boundary=x" }, body: `--x\r\nContent-Disposition: form-data; name="$ACTION_ID_${"a".repeat(40)}"\r\n\r\n\r\n--x--\r\n` }, { status: 405 }],
  ];
  for (const [label, path, init, want] of get) cases.push({ label, path, init, want });
  return cases;
}

/** One hostile login must not fail the honest logins that run at the same moment. */
async function collateral(probe: Probe): Promise<void> {
  for (let round = 1; round <= 3; round++) {
    const honest = Array.from({ length: 7 }, (_, i) => probe.post(`collateral ${round}.${i}`, "/api/login", { login: `nobody_${id()}`, password: PASSWORD }, { summarized: true }));
    const hostile = probe.send(`collateral ${round}: NUL login`, "/api/login", { method: "POST", headers: { "content-type": "application/json" }, body: json({ login: `x\u0000${id()}`, password: PASSWORD }) });
    const replies = await Promise.all([...honest.slice(0, 3), hostile, ...honest.slice(3)]);
    const broken = replies.filter((r, i) => i !== 3 && r?.status !== 401).length;
    if (broken) probe.fail(`a login with a NUL byte made ${broken} of 7 concurrent honest logins fail (round ${round}): ${replies.map((r) => r?.status ?? "-").join(" ")}`);
  }
}

/** Bytes fetch will not send: CR, LF, NUL and smuggling shapes, straight onto a socket. */
async function rawCases(probe: Probe): Promise<void> {
  const host = new URL(probe.base).host;
  const body = json(bodies()["/api/login"]);
  const req = (lines: string[], payload = "") => `${lines.join("\r\n")}\r\n\r\n${payload}`;
  const refused = [400, 401, 403, 404, 411, 413, 414, 431, 0];
  const cases: [string, string | Buffer, number[]][] = [
    ["NUL in a Cookie value", req(["GET /api/me HTTP/1.1", `Host: ${host}`, "Cookie: holdfast_session=ab\u0000cd", "Connection: close"]), refused],
    ["obs-fold in an Origin", req(["POST /api/login HTTP/1.1", `Host: ${host}`, "Origin: http://evil.example", " .test", "Content-Type: application/json", `Content-Length: ${body.length}`, "Connection: close"], body), refused],
    ["bare CR in Content-Type", req(["POST /api/login HTTP/1.1", `Host: ${host}`, "Content-Type: application/json\rX-Injected: 1", `Content-Length: ${body.length}`, "Connection: close"], body), refused],
    ["bare LF line endings", `GET /api/me HTTP/1.1\nHost: ${host}\nCookie: holdfast_session=x\nConnection: close\n\n`, refused],
    ["Content-Length with Transfer-Encoding", req(["POST /api/login HTTP/1.1", `Host: ${host}`, "Content-Type: application/json", "Content-Length: 4", "Transfer-Encoding: chunked", "Connection: close"], `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`), refused],
    ["two different Content-Lengths", req(["POST /api/login HTTP/1.1", `Host: ${host}`, "Content-Type: application/json", `Content-Length: ${body.length}`, "Content-Length: 2", "Connection: close"], body), refused],
    ["negative Content-Length", req(["POST /api/login HTTP/1.1", `Host: ${host}`, "Content-Type: application/json", "Content-Length: -1", "Connection: close"], body), refused],
    ["chunked body of 20 KiB", req(["POST /api/register HTTP/1.1", `Host: ${host}`, "Content-Type: application/json", "Transfer-Encoding: chunked", "Connection: close"], `5000\r\n${"z".repeat(0x5000)}\r\n0\r\n\r\n`), [413]],
    ["UTF-8 bytes in a Cookie", Buffer.concat([Buffer.from(req(["GET /api/me HTTP/1.1", `Host: ${host}`, "Connection: close"]).slice(0, -2)), Buffer.from("Cookie: holdfast_session=\u00e9\u00e9\u{1f600}\r\n\r\n", "utf8")]), [401]],
    ["absolute-form request target to another host", req(["POST http://evil.example/api/login HTTP/1.1", `Host: ${host}`, "Content-Type: application/json", `Content-Length: ${body.length}`, "Connection: close"], body), [400, 401, 403]],
    // fetch refuses to send TRACE; Next would answer it a bare 500 (nginx, in front, a 405 of its own).
    ["TRACE on an endpoint", req(["TRACE /api/me HTTP/1.1", `Host: ${host}`, "Connection: close"]), [405]],
    ["TRACE on a path that names no endpoint", req(["TRACE /api/admin HTTP/1.1", `Host: ${host}`, "Connection: close"]), [404, 405]],
    // Taken as this site's own path, never a redirect to the host it names.
    ["absolute-form GET of a page on another host", req(["GET http://evil.example/signup HTTP/1.1", `Host: ${host}`, "Connection: close"]), [200, 400]],
    ["HTTP/1.0 without Host", req(["GET /api/me HTTP/1.0"]), refused],
    ["a URL of 20 KiB", req([`GET /api/me?${"q".repeat(20_000)} HTTP/1.1`, `Host: ${host}`, "Connection: close"]), refused],
    ["200 headers", req(["GET /api/me HTTP/1.1", `Host: ${host}`, ...Array.from({ length: 200 }, (_, i) => `X-H${i}: ${i}`), "Connection: close"]), refused],
    ["two Cookie lines with bad sessions", req(["GET /api/me HTTP/1.1", `Host: ${host}`, "Cookie: holdfast_session=bad1", "Cookie: holdfast_session=bad2", "Connection: close"]), [401]],
  ];
  for (const [label, data, allowed] of cases) await probe.raw(`raw: ${label}`, data, allowed);
}

/** The case's request with FRESH_PROOF replaced by a proof fetched now (URL-encoded in a form body). */
async function withProof(probe: Probe, c: Case): Promise<SendInit> {
  const { body } = c.init;
  const text = typeof body === "string" ? body : body ? new TextDecoder().decode(body) : "";
  if (!text.includes(FRESH_PROOF)) return c.init;
  const payload = await probe.altcha(`${c.label}: challenge`);
  const form = /x-www-form-urlencoded/i.test(c.init.headers?.["content-type"] ?? "");
  const filled = text.replaceAll(FRESH_PROOF, form ? encodeURIComponent(payload) : payload);
  return { ...c.init, body: typeof body === "string" ? filled : new TextEncoder().encode(filled) };
}

export async function fuzz(probe: Probe, log: (line: string) => void): Promise<void> {
  const before = probe.report.requests;
  const all = [...transportCases(probe.base), ...registerCases(), ...otherEndpointCases()];
  // NUL bytes go alone, so that a failure is pinned on the request that caused it.
  const nul = (c: Case) => typeof c.init.body === "string" && c.init.body.includes("\\u0000");
  const run = async (c: Case) => probe.expect(c.label, await probe.send(c.label, c.path, await withProof(probe, c)), c.want);
  const batched = all.filter((c) => !nul(c));
  // Small batches: enough concurrency to be quick, not so much that the proxy queues.
  for (let i = 0; i < batched.length; i += 8) await Promise.all(batched.slice(i, i + 8).map(run));
  for (const c of all.filter(nul)) await run(c);
  await collateral(probe);
  const crlf = await fetch(`${probe.base}/api/me`, { headers: { cookie: "a=b\r\nX-Injected: 1" } }).then(() => "sent", () => "refused");
  if (crlf === "sent") probe.fail("fetch sent a header value with CRLF: the raw-socket cases are the real test");
  await rawCases(probe);
  log(`hostile requests: ${probe.report.requests - before} (fetch refuses CR/LF in header values client-side; those went over a raw socket)`);
}
