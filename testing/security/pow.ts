import { randomBytes } from "node:crypto";
import { decodePayload, encodeRaw, type DecodedPayload, type Proof } from "../pow";
import { errorCode, type Expectation, type Probe, type Reply } from "./http";
import { judgeRace, proofs, tally } from "./races";
import { newUser, signUp } from "./sessions";

/**
 * Part 10: the proof of work (`altcha`) and the captcha pass.
 * - the challenge endpoint; a used payload replayed; payloads with a tampered signature, changed
 *   parameters or a wrong solution; spliced payloads (the solution of challenge A with the
 *   parameters or signature of challenge B); garbage of every shape (a 400 with a stable code,
 *   never a 5xx); one payload in 20 concurrent registrations (at most one gets past the proof);
 * - the pass a right captcha leaves after a 409: usable once, without the captcha, and never again,
 *   neither from the cookie that held it nor (cookie store) from an old sealed copy of it.
 * An expired payload is not tried here: the TTL is 10 minutes; lib/pow/pow.test.ts covers expiry.
 *
 * Every refusal here is sent with everything else right (a live session with the right captcha
 * answer, where the check order would reach it), so a 2xx is an unexpected accept, and controls
 * with a genuine proof show the refusals were about the proof.
 */

const json = (value: unknown) => JSON.stringify(value);
const POW_INVALID: Expectation = { status: 400, codes: ["pow_invalid"] };
const hex = (bytes: number) => randomBytes(bytes).toString("hex");

/** A different hex digit at `at` (so the string always changes). */
function flipHex(value: string, at = 0): string {
  const c = value[at]!;
  return value.slice(0, at) + (c === "0" ? "1" : "0") + value.slice(at + 1);
}

function copy(p: Proof): DecodedPayload {
  return decodePayload(p.payload);
}

/** The cookie a browser holds after `reply`: the one it set, none if it cleared it, else the one before. */
const jar = (reply: Reply | null, previous: string | undefined) => (reply?.cleared ? undefined : (reply?.cookie ?? previous));

function register(probe: Probe, label: string, body: Record<string, unknown>, cookie?: string): Promise<Reply | null> {
  const user = newUser();
  probe.secret(user.password);
  return probe.post(label, "/api/register", { ...user, ...body }, { cookie });
}

/** The challenge endpoint itself. */
async function endpoint(probe: Probe): Promise<void> {
  for (const level of ["normal", "accessible"] as const) {
    const path = level === "normal" ? "/api/challenge" : "/api/challenge?level=accessible";
    const reply = await probe.send(`pow: GET ${path}`, path);
    if (!probe.expect(`pow: GET ${path}`, reply, { status: 200 })) continue;
    const body = reply!.json as { parameters?: Record<string, unknown>; signature?: unknown } | null;
    const p = body?.parameters;
    const problems: string[] = [];
    if (p?.algorithm !== "SHA-256") problems.push(`algorithm ${String(p?.algorithm)}`);
    if (typeof body?.signature !== "string" || !/^[0-9a-f]{64}$/.test(body.signature)) problems.push("no HMAC signature");
    if ((p?.data as { level?: unknown } | undefined)?.level !== level) problems.push(`data.level is not ${level}`);
    const expires = typeof p?.expiresAt === "number" ? p.expiresAt * 1000 - Date.now() : NaN;
    if (!(expires > 60_000 && expires <= 11 * 60_000)) problems.push(`expiresAt is ${Number.isNaN(expires) ? "missing" : `${Math.round(expires / 1000)} s away`}, not within the 10-minute lifetime`);
    if (problems.length) probe.fail(`pow: GET ${path}: ${problems.join("; ")}`);
  }
  for (const level of ["free", "", "ACCESSIBLE", "__proto__", "accessible%00", "x".repeat(2000)]) {
    const reply = await probe.send(`pow: challenge level ${JSON.stringify(level.slice(0, 16))}`, `/api/challenge?level=${level}`);
    probe.expect(`pow: GET /api/challenge?level=${level.slice(0, 16)}`, reply, { status: 400, codes: ["invalid_input"] });
  }
  for (const method of ["POST", "PUT", "DELETE"]) {
    const reply = await probe.send(`pow: ${method} /api/challenge`, "/api/challenge", { method, headers: { "content-type": "application/json" }, body: method === "DELETE" ? undefined : "{}" });
    probe.expect(`pow: ${method} /api/challenge`, reply, { status: 405 });
  }
}

/** A used payload, and payloads spent by refused attempts, are refused afterwards. */
async function replays(probe: Probe): Promise<void> {
  // Control: a genuine proof and captcha sign up.
  const used = await probe.proof("pow replay: challenge");
  const first = await probe.captcha("pow replay: captcha");
  if (!used || !first) return;
  if (!probe.expect("pow replay: control sign-up with a genuine proof", await register(probe, "pow replay: first use", { captcha: first.answer, altcha: used.payload }, first.cookie), { status: 201 })) return;

  const next = await probe.captcha("pow replay: second captcha");
  if (!next) return;
  const again = await register(probe, "pow replay: the used payload again", { captcha: next.answer, altcha: used.payload }, next.cookie);
  probe.expect("pow replay: a used payload with a live session and the right answer", again, POW_INVALID);
  // The proof is checked before the captcha: that refusal left the captcha waiting.
  const after = await register(probe, "pow replay: captcha after the refused proof", { captcha: next.answer, altcha: await probe.altcha("pow replay: fresh") }, jar(again, next.cookie));
  probe.expect("pow replay: the captcha is still unspent after a pow_invalid (the proof comes first)", after, { status: 201 });

  // Spent by attempts that failed later on: a wrong captcha, and no cookie at all.
  const spentBy: [string, (altcha: string) => Promise<Reply | null>, Expectation][] = [
    ["a wrong captcha", async (altcha) => {
      const c = await probe.captcha("pow replay: captcha to get wrong");
      return c && register(probe, "pow replay: wrong captcha", { captcha: c.answer === "AAAAA" ? "CCCCC" : "AAAAA", altcha }, c.cookie);
    }, { status: 400, codes: ["captcha_invalid"] }],
    ["no session cookie", (altcha) => register(probe, "pow replay: no cookie", { captcha: "ACDEF", altcha }), { status: 400, codes: ["no_session"] }],
  ];
  for (const [what, attempt, want] of spentBy) {
    const p = await probe.proof(`pow replay: challenge for ${what}`);
    if (!p) continue;
    probe.expect(`pow replay: the first attempt, with ${what}`, await attempt(p.payload), want);
    const c = await probe.captcha(`pow replay: captcha after ${what}`);
    if (!c) continue;
    probe.expect(`pow replay: a payload spent by an attempt with ${what}, then with the right answer`, await register(probe, `pow replay: after ${what}`, { captcha: c.answer, altcha: p.payload }, c.cookie), POW_INVALID);
  }
}

/** Genuine proofs changed in one place each, and spliced from two challenges. */
async function forgeries(probe: Probe): Promise<number> {
  const session = await probe.captcha("pow forgeries: captcha");
  if (!session) return 0;
  let cookie: string | undefined = session.cookie;
  let tried = 0;
  const refused = async (what: string, altcha: string, extra: Record<string, unknown> = { captcha: session.answer }) => {
    tried++;
    const reply = await register(probe, `pow forged: ${what}`, { ...extra, altcha }, cookie);
    probe.expect(`pow forged: ${what}`, reply, POW_INVALID);
    cookie = jar(reply, cookie);
  };
  const fresh = async (what: string) => probe.proof(`pow forged: challenge for ${what}`);
  const mutations: [string, (d: DecodedPayload) => void][] = [
    ["signature with one digit changed", (d) => (d.challenge.signature = flipHex(d.challenge.signature, 17))],
    ["signature of random bytes", (d) => (d.challenge.signature = hex(32))],
    ["expiresAt a day later, signature kept", (d) => (d.challenge.parameters.expiresAt = (d.challenge.parameters.expiresAt as number) + 86_400)],
    ["nonce changed (a new single-use record), signature kept", (d) => (d.challenge.parameters.nonce = hex(16))],
    ["keySignature of random bytes (as if the server vouched for another key)", (d) => (d.challenge.parameters.keySignature = hex(32))],
    ["an extra parameter", (d) => (d.challenge.parameters.admin = true)],
    ["algorithm SHA-1", (d) => (d.challenge.parameters.algorithm = "SHA-1")],
    ["no signature", (d) => delete (d.challenge as Partial<DecodedPayload["challenge"]>).signature],
    ["derivedKey with one digit changed (a wrong solution)", (d) => (d.solution.derivedKey = flipHex(d.solution.derivedKey, 40))],
    ["derivedKey as the published keyPrefix padded with zeros (an unsolved challenge)", (d) => (d.solution.derivedKey = `${String(d.challenge.parameters.keyPrefix).slice(0, 32)}${"0".repeat(32)}`.slice(0, 64))],
    ["counter -1", (d) => (d.solution.counter = -1)],
  ];
  for (const [what, change] of mutations) {
    const p = await fresh(what);
    if (!p) continue;
    const d = copy(p);
    change(d);
    await refused(what, encodeRaw(d));
  }
  // The level is signed: claiming "accessible" on a normal proof neither skips the captcha nor passes.
  for (const withCaptcha of [true, false]) {
    const p = await fresh("level claimed");
    if (!p) continue;
    const d = copy(p);
    (d.challenge.parameters.data as Record<string, unknown>) = { level: "accessible" };
    await refused(`data.level changed to accessible on a normal proof, ${withCaptcha ? "with" : "without"} the captcha`, encodeRaw(d), withCaptcha ? { captcha: session.answer } : {});
  }

  // Splices: the solution of A with the challenge of B, A's parameters under B's signature, B's
  // parameters carrying A's key under B's signature.
  const [a, b, c] = [await fresh("splice A"), await fresh("splice B"), await fresh("splice C")];
  if (a && b && c) {
    const A = copy(a);
    const B = copy(b);
    const C = copy(c);
    await refused("spliced: A's solution with B's challenge", encodeRaw({ challenge: B.challenge, solution: A.solution }));
    await refused("spliced: A's parameters and solution under C's signature", encodeRaw({ challenge: { parameters: A.challenge.parameters, signature: C.challenge.signature }, solution: A.solution }));
    const keyOfA = { keyPrefix: A.challenge.parameters.keyPrefix, keySignature: A.challenge.parameters.keySignature, salt: A.challenge.parameters.salt, nonce: A.challenge.parameters.nonce };
    await refused("spliced: C's parameters carrying A's key, salt and nonce, under C's signature", encodeRaw({ challenge: { parameters: { ...C.challenge.parameters, ...keyOfA }, signature: C.challenge.signature }, solution: A.solution }));
    // A itself was never spent by the forgeries that named it: the control that A was genuine.
    probe.expect("pow forged: control, the genuine A after the splices", await register(probe, "pow forged: genuine A", { captcha: session.answer, altcha: a.payload }, cookie), { status: 201 });
  }
  return tried;
}

/** Values that are no payload at all: a 400 with a stable code, never a 5xx, with or without a session. */
async function garbage(probe: Probe): Promise<number> {
  const b64 = (text: string) => Buffer.from(text).toString("base64");
  const fake = { challenge: { parameters: { algorithm: "SHA-256", nonce: hex(16), keySignature: hex(32), expiresAt: 9_999_999_999 }, signature: hex(32) }, solution: { counter: 1, derivedKey: hex(32) } };
  const strings: [string, string][] = [
    ["not base64", "not base64!!"], ["only padding", "===="], ["base64 of plain text", "YWJj"], ["base64url characters", "ab-_"],
    ["base64 of broken JSON", b64("{not json")], ["base64 of an array", b64("[1,2]")], ["base64 of a string", b64('"payload"')],
    ["base64 of null", b64("null")], ["base64 of a number", b64("123")], ["base64 of {}", b64("{}")],
    ["base64 of empty challenge and solution", b64('{"challenge":{},"solution":{}}')],
    ["base64 of __proto__ keys", b64(`{"__proto__":{"challenge":1},"challenge":{"parameters":{"__proto__":{"algorithm":"SHA-256"}},"signature":"${hex(32)}"},"solution":{"__proto__":{}}}`)],
    ["base64 of 900 nested arrays", b64(`${"[".repeat(900)}${"]".repeat(900)}`)],
    ["a well-formed payload the server never issued", encodeRaw(fake)],
    ["a well-formed payload with the counter as a string", encodeRaw({ ...fake, solution: { counter: "1", derivedKey: fake.solution.derivedKey } })],
    ["a well-formed payload with a counter of 2^40", encodeRaw({ ...fake, solution: { counter: 2 ** 40, derivedKey: fake.solution.derivedKey } })],
    ["4096 characters of base64", "A".repeat(4096)],
    ["non-ASCII characters", "\u00ff\u00fe\u{1f600}AA"],
    ["SQL", "' OR '1'='1"],
  ];
  // Too long, or not text (a control character, half a surrogate pair): a shape error like any field's.
  const tooLong: [string, string][] = [
    ["4097 characters", "A".repeat(4097)], ["5000 characters", "A".repeat(5000)], ["a real-looking payload padded to 5000 characters", encodeRaw(fake).padEnd(5000, "A")],
    ["a NUL byte", "QUJD\u0000"], ["a lone surrogate", "QUJD\ud800"],
  ];
  const wrongTypes: [string, string][] = [
    ["the number 0", "0"], ["a number", "12345"], ["a negative number", "-1"], ["1e400", "1e400"], ["a float", "1.5"], ["true", "true"],
    ["null", "null"], ["an empty string", '""'], ["an array", "[]"], ["an array of a string", '["QUJD"]'], ["an object", "{}"], ["an object like a payload", json(fake)],
  ];
  let tried = 0;
  const send = async (label: string, raw: string, want: Expectation, cookie?: string) => {
    tried++;
    const body = `${json({ ...newUser(), captcha: "ACDEF" }).slice(0, -1)},"altcha":${raw}}`;
    const reply = await probe.post(`pow garbage: ${label}`, "/api/register", body, { cookie });
    probe.expect(`pow garbage: ${label}`, reply, want);
  };
  // No cookie: the proof comes before the session, so these are pow_invalid, never no_session.
  for (const [what, value] of strings) await send(`altcha as ${what}`, json(value), POW_INVALID);
  for (const [what, value] of tooLong) await send(`altcha of ${what}`, json(value), { status: 400, codes: ["invalid_input"], field: "altcha" });
  for (const [what, raw] of wrongTypes) await send(`altcha as ${what}`, raw, { status: 400, codes: ["invalid_input"], field: "altcha" });
  // And with a live session and the right answer: the same refusals, and nothing is created.
  const c = await probe.captcha("pow garbage: captcha");
  if (c) {
    for (const [what, value] of strings.slice(0, 6)) await send(`altcha as ${what}, with a live session`, json(value), POW_INVALID, c.cookie);
    // Form posts carry the code back to the page; the proof comes first there too.
    const form = new URLSearchParams({ ...newUser(), captcha: c.answer, altcha: "not base64!!" }).toString();
    tried++;
    const reply = await probe.send("pow garbage: form post", "/api/register", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form, cookie: c.cookie });
    if (probe.expect("pow garbage: a form post with a garbage altcha", reply, { status: 303 }) && !/[?&]error=pow_invalid(&|$)/.test(reply!.headers.get("location") ?? "")) {
      probe.fail(`pow garbage: a form post with a garbage altcha went to ${reply!.headers.get("location")}, not back with error=pow_invalid`);
    }
    // Control: the captcha was never reached, so it still signs up.
    const control = await register(probe, "pow garbage: control", { captcha: c.answer, altcha: await probe.altcha("pow garbage: control") }, jar(reply, c.cookie));
    probe.expect("pow garbage: control, the same session with a genuine proof", control, { status: 201 });
  }
  return tried;
}

/** One payload in 20 concurrent registrations, each otherwise valid (its own session, captcha and user). */
async function race(probe: Probe, log: (line: string) => void): Promise<void> {
  const shared = await probe.proof("pow race: challenge");
  const captchas = (await Promise.all(Array.from({ length: 20 }, (_, i) => probe.captcha(`pow race: captcha ${i + 1}`)))).filter((c) => c !== null);
  if (!shared || captchas.length !== 20) return probe.fail(`pow race: setup failed (${captchas.length} of 20 captchas)`);
  const replies = await Promise.all(captchas.map((c, i) => register(probe, `pow race ${i + 1}`, { captcha: c.answer, altcha: shared.payload }, c.cookie)));
  judgeRace(probe, "20 concurrent registrations with one proof of work", replies, { status: 400, codes: ["pow_invalid"] });
  // Every loser's captcha is untouched (the proof comes first): one of them, with a fresh proof, signs up.
  const loser = captchas.find((_, i) => replies[i]?.status === 400);
  if (loser) probe.expect("pow race: a loser's captcha with a fresh proof", await register(probe, "pow race: loser again", { captcha: loser.answer, altcha: await probe.altcha("pow race: fresh") }, loser.cookie), { status: 201 });
  log(`20 concurrent registrations with one proof of work: ${tally(replies)}`);
}

export async function proofOfWork(probe: Probe, log: (line: string) => void): Promise<void> {
  const before = probe.report.requests;
  await endpoint(probe);
  await replays(probe);
  const forged = await forgeries(probe);
  const junk = await garbage(probe);
  await race(probe, log);
  log(`proof of work: ${forged} forged or spliced payloads and ${junk} garbage values refused (pow_invalid, or invalid_input for non-strings and oversize), used payloads refused; ${probe.report.requests - before} requests (expiry: lib/pow/pow.test.ts)`);
}

/** What a second use of a spent pass gets from the cookie that held it: the cookie store's sealed copy still names it. */
const spent = (store: string, field = true): Expectation => (store === "cookie" ? { status: 400, codes: ["captcha_missing"] } : { status: 400, codes: ["invalid_input"], ...(field ? { field: "captcha" } : {}) });

/** The single-use pass a right captcha leaves after a 409. */
export async function captchaPass(probe: Probe, store: string, log: (line: string) => void): Promise<void> {
  const taken = await signUp(probe, "pass setup");
  if (!taken) return;
  const noCaptcha = async (label: string, cookie: string | undefined, user: Record<string, string> = {}) =>
    register(probe, label, { ...user, altcha: await probe.altcha(`${label}: challenge`) }, cookie);
  const required: Expectation = { status: 400, codes: ["invalid_input"], field: "captcha" };

  // No pass without a 409 after a right answer: none from nothing, none from a wrong answer.
  probe.expect("pass: no captcha and no cookie", await noCaptcha("pass: no cookie", undefined), required);
  const w = await probe.captcha("pass: captcha to get wrong");
  if (w) {
    const wrong = await register(probe, "pass: wrong answer", { captcha: w.answer === "AAAAA" ? "CCCCC" : "AAAAA", altcha: await probe.altcha("pass: wrong answer challenge") }, w.cookie);
    probe.expect("pass: a wrong answer", wrong, { status: 400, codes: ["captcha_invalid"] });
    probe.expect("pass: no captcha after a wrong answer (no pass)", await noCaptcha("pass: after a wrong answer", jar(wrong, w.cookie)), required);
    probe.expect("pass: no captcha after a wrong answer, from the cookie that held the captcha", await noCaptcha("pass: after a wrong answer, old cookie", w.cookie), required);
  }

  // A right answer and a taken username: 409 and a pass; used once without the captcha; then gone.
  const c = await probe.captcha("pass: captcha");
  if (!c) return;
  const conflict = await register(probe, "pass: taken username", { username: taken.username, captcha: c.answer, altcha: await probe.altcha("pass: challenge") }, c.cookie);
  if (!probe.expect("pass: a right answer with a taken username", conflict, { status: 409, codes: ["username_taken"] })) return;
  const holding = jar(conflict, c.cookie);
  const used = await noCaptcha("pass: used", holding);
  if (!probe.expect("pass: the next attempt without the captcha, a free username and a fresh proof", used, { status: 201 })) return;
  probe.expect("pass: spent, again from the cookie that held it (cookie store: an old sealed copy)", await noCaptcha("pass: again, old cookie", holding), spent(store));
  probe.expect("pass: spent, again from the cookie after the sign-up", await noCaptcha("pass: again, new cookie", jar(used, holding)), required);

  // A pass is spent by any attempt: a second 409 leaves none, so 409s cannot be chained.
  const c2 = await probe.captcha("pass chain: captcha");
  if (c2) {
    const first = await register(probe, "pass chain: taken username", { username: taken.username, captcha: c2.answer, altcha: await probe.altcha("pass chain: challenge") }, c2.cookie);
    if (probe.expect("pass chain: a right answer with a taken username", first, { status: 409, codes: ["username_taken"] })) {
      const k1 = jar(first, c2.cookie);
      const second = await noCaptcha("pass chain: the pass on a taken email", k1, { email: taken.email });
      probe.expect("pass chain: the pass used on a taken email", second, { status: 409, codes: ["email_taken"] });
      // The session may now be empty (captcha and pass both spent), so the cookie may have been cleared.
      probe.expect("pass chain: no pass after a 409 reached with a pass", await noCaptcha("pass chain: after", jar(second, k1)), required);
      probe.expect("pass chain: the cookie from before the pass was used", await noCaptcha("pass chain: old cookie", k1), spent(store));
    }
  }

  // One pass, 10 concurrent attempts (each its own proof and free username): one gets through.
  const c3 = await probe.captcha("pass race: captcha");
  const altchas = await proofs(probe, "pass race", 11);
  if (c3 && altchas) {
    const granted = await register(probe, "pass race: taken username", { username: taken.username, captcha: c3.answer, altcha: altchas[10] }, c3.cookie);
    if (probe.expect("pass race: a right answer with a taken username", granted, { status: 409, codes: ["username_taken"] })) {
      const holder = jar(granted, c3.cookie);
      const replies = await Promise.all(altchas.slice(0, 10).map((altcha, i) => register(probe, `pass race ${i + 1}`, { altcha }, holder)));
      judgeRace(probe, "10 concurrent registrations with one pass", replies, { status: 400, codes: ["captcha_missing", "invalid_input", "session_unknown"] });
      log(`captcha pass: 10 concurrent uses: ${tally(replies)}`);
    }
  }
  const codes = (r: Reply | null) => (r ? `${r.status} ${errorCode(r) ?? ""}`.trim() : "none");
  log(`captcha pass: usable once after a 409 (${codes(used)}), then refused from the old and the new cookie; not granted by a wrong answer, not chained through a second 409`);
}
