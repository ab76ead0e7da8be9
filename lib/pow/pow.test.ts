import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import vm from "node:vm";
import { verifySolution } from "altcha-lib";
import { deriveKey } from "altcha-lib/algorithms/sha";
import { getChallenge } from "../api/challenge";
import { parseConfig } from "../env";
import { sessionRoute } from "../http/route";
import { memoryLimiter } from "../ratelimit/limiter";
import { sessionsOver, type Services } from "../services";
import { StoreUnavailableError } from "@holdfast/session";
import type { CaptchaLedger } from "../captcha/ledger";
import { createMemoryStore } from "@holdfast/session/stores/memory";
import { memoryLedger } from "../captcha/ledgers/memory";
import {
  altchaSecrets,
  checkProof,
  issueChallenge,
  POW_MAX_NUMBER,
  POW_TTL_MS,
  powKeys,
  powSettings,
  verifyProof,
  type PowReason,
} from "./pow";
import { encodePayload, solveInNode, type ChallengeJson } from "./solve";

const KEY = "pow-test-key-0123456789-0123456789";
const OTHER_KEY = "pow-other-key-0123456789-0123456789";
const issueOptions = { hmacKey: KEY, maxNumber: 500, ttlMs: 60_000 };

const b64 = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64");
const decode = (payload: string) => JSON.parse(Buffer.from(payload, "base64").toString("utf8"));

async function solved(ledger: CaptchaLedger, options: Partial<typeof issueOptions> & { level?: "normal" | "accessible"; now?: number } = {}) {
  const challenge = (await issueChallenge(ledger, { ...issueOptions, ...options })) as ChallengeJson;
  const solution = solveInNode(challenge);
  assert.ok(solution, "the challenge has a solution within range");
  return { challenge, ...solution };
}

async function reason(ledger: CaptchaLedger, payload: unknown, key: string | string[] = KEY, now?: number): Promise<PowReason | "ok"> {
  const check = await checkProof(ledger, payload, { hmacKey: key, now });
  return check.verdict === "ok" ? "ok" : check.reason;
}

/** A ledger that records which ids were taken. */
function watched(ledger: CaptchaLedger) {
  const taken: string[] = [];
  return {
    taken,
    ledger: { put: ledger.put.bind(ledger), take: (id: string) => (taken.push(id), ledger.take(id)) } satisfies CaptchaLedger,
  };
}

describe("proof of work: issue and verify", () => {
  it("round trip: a solved challenge is ok once, with the level it was issued at", async () => {
    const captchas = memoryLedger();
    const { payload } = await solved(captchas);
    assert.deepEqual(await checkProof(captchas, payload, { hmacKey: KEY }), { verdict: "ok", level: "normal" });
    const hard = await solved(captchas, { level: "accessible" });
    assert.deepEqual(await checkProof(captchas, hard.payload, { hmacKey: KEY }), { verdict: "ok", level: "accessible" });
  });

  it("the challenge is ALTCHA's v2 format, and altcha-lib's own verifier accepts our solution", async () => {
    const captchas = memoryLedger();
    const { challenge, payload } = await solved(captchas);
    const p = challenge.parameters;
    assert.deepEqual(Object.keys(p).sort(), ["algorithm", "cost", "data", "expiresAt", "keyLength", "keyPrefix", "keySignature", "nonce", "salt"]);
    assert.equal(p.algorithm, "SHA-256");
    assert.equal(p.keyLength, 32);
    assert.match(p.keyPrefix, /^[0-9a-f]{32}$/);
    assert.ok(Number.isInteger(p.expiresAt) && (p.expiresAt as number) * 1000 > Date.now());
    assert.match(challenge.signature!, /^[0-9a-f]{64}$/);
    const body = decode(payload);
    assert.deepEqual(Object.keys(body).sort(), ["challenge", "solution"]);
    const secrets = altchaSecrets(KEY);
    const result = await verifySolution({
      challenge: body.challenge,
      solution: body.solution,
      deriveKey,
      hmacSignatureSecret: secrets.signature,
      hmacKeySignatureSecret: secrets.keySignature,
    });
    assert.equal(result.verified, true);
    // And by re-deriving the key, without the key signature's shortcut.
    const rederived = await verifySolution({ challenge: body.challenge, solution: body.solution, deriveKey, hmacSignatureSecret: secrets.signature });
    assert.equal(rederived.verified, true);
  });

  it("reuse: the second verification of one payload is pow_invalid", async () => {
    const captchas = memoryLedger();
    const { payload } = await solved(captchas);
    assert.equal(await verifyProof(captchas, payload, { hmacKey: KEY }), "ok");
    assert.equal(await reason(captchas, payload), "reused");
    assert.equal(await verifyProof(captchas, payload, { hmacKey: KEY }), "pow_invalid");
  });

  it("a wrong solution is refused and consumes the challenge", async () => {
    const captchas = memoryLedger();
    const { challenge, payload, counter, derivedKey } = await solved(captchas);
    const wrongKey = createHash("sha256").update("not it").digest("hex");
    assert.equal(await reason(captchas, encodePayload(challenge, { counter: counter + 1, derivedKey: wrongKey })), "wrong");
    assert.equal(await reason(captchas, payload), "reused", "the right answer after a wrong one finds the challenge spent");
    // The counter alone does not help: the derived key is what is checked.
    const other = await solved(captchas);
    assert.equal(await reason(captchas, encodePayload(other.challenge, { counter: other.counter, derivedKey })), "wrong");
    // Nor does the right key with another counter: the proof is the pair.
    const third = await solved(captchas);
    assert.equal(await reason(captchas, encodePayload(third.challenge, { counter: third.counter + 1000, derivedKey: third.derivedKey })), "wrong");
  });

  it("forged: a changed signature, a changed parameter or another key is refused without touching the ledger", async () => {
    const captchas = memoryLedger();
    const { ledger, taken } = watched(captchas);
    const { challenge, payload } = await solved(captchas);
    const body = decode(payload);
    const sig: string = body.challenge.signature;
    const flipped = { ...body, challenge: { ...body.challenge, signature: (sig[0] === "0" ? "1" : "0") + sig.slice(1) } };
    assert.equal(await reason(ledger, b64(flipped)), "forged");
    const later = { ...body, challenge: { ...body.challenge, parameters: { ...body.challenge.parameters, expiresAt: body.challenge.parameters.expiresAt + 3600 } } };
    assert.equal(await reason(ledger, b64(later)), "forged");
    const easier = { ...body, challenge: { ...body.challenge, parameters: { ...body.challenge.parameters, data: { level: "accessible" } } } };
    assert.equal(await reason(ledger, b64(easier)), "forged");
    const unsigned = { ...body, challenge: { parameters: body.challenge.parameters } };
    assert.equal(await reason(ledger, b64(unsigned)), "malformed");
    // A challenge signed by someone else's key.
    const foreign = await solved(memoryLedger(), { hmacKey: OTHER_KEY });
    assert.equal(await reason(ledger, foreign.payload), "forged");
    assert.deepEqual(taken, [], "nothing forged reached the ledger");
    // The genuine one is still there.
    assert.equal(await reason(ledger, payload), "ok");
    assert.equal(challenge.signature, sig);
  });

  it("spliced: parameters of one challenge with the signature or the solution of another", async () => {
    const captchas = memoryLedger();
    const a = await solved(captchas);
    const b = await solved(captchas);
    const A = decode(a.payload);
    const B = decode(b.payload);
    assert.equal(await reason(captchas, b64({ challenge: { parameters: A.challenge.parameters, signature: B.challenge.signature }, solution: A.solution })), "forged");
    assert.equal(await reason(captchas, b64({ challenge: { parameters: A.challenge.parameters, signature: B.challenge.signature }, solution: B.solution })), "forged");
    const mixedSalt = { ...A.challenge.parameters, salt: B.challenge.parameters.salt };
    assert.equal(await reason(captchas, b64({ challenge: { parameters: mixedSalt, signature: A.challenge.signature }, solution: A.solution })), "forged");
    // A's genuine challenge with B's genuine solution: signed, so consumed, and wrong.
    assert.equal(await reason(captchas, b64({ challenge: A.challenge, solution: B.solution })), "wrong");
    assert.equal(await reason(captchas, b.payload), "ok");
  });

  it("expired: refused once its time has passed, by the signed expiry", async () => {
    const captchas = memoryLedger();
    const { challenge, payload } = await solved(captchas, { ttlMs: 5_000 });
    const expiresAtMs = (challenge.parameters.expiresAt as number) * 1000;
    assert.equal(await reason(captchas, payload, KEY, expiresAtMs + 1), "expired");
    // Just before its own signed expiry (in whole seconds), a fresh one is still good.
    const fresh = await solved(captchas, { ttlMs: 5_000 });
    const freshExpiresAtMs = (fresh.challenge.parameters.expiresAt as number) * 1000;
    assert.equal(await reason(captchas, fresh.payload, KEY, freshExpiresAtMs - 1), "ok");
  });

  it("keys rotate: the first key signs, every listed key verifies", async () => {
    const captchas = memoryLedger();
    const { payload } = await solved(captchas, { hmacKey: OTHER_KEY });
    assert.equal(await reason(captchas, payload, [KEY]), "forged");
    assert.equal(await reason(captchas, payload, [KEY, OTHER_KEY]), "ok");
  });

  it("malformed input of every kind is pow_invalid, never an exception", async () => {
    const captchas = memoryLedger();
    const { ledger, taken } = watched(captchas);
    const { payload } = await solved(captchas);
    const body = decode(payload);
    const withSolution = (solution: unknown) => b64({ challenge: body.challenge, solution });
    const withParams = (changes: Record<string, unknown>) =>
      b64({ challenge: { ...body.challenge, parameters: { ...body.challenge.parameters, ...changes } }, solution: body.solution });
    const inputs: unknown[] = [
      undefined,
      null,
      0,
      123,
      true,
      {},
      [],
      [payload],
      { payload },
      "",
      " ",
      "!!!!",
      "abcd",
      "abc",
      "%%%%",
      payload.endsWith("=") ? payload.replace(/=+$/, "") : payload.slice(0, -1),
      payload.replace(/\+/g, "-").replace(/\//g, "_") + (payload.includes("+") || payload.includes("/") ? "" : "-___"),
      ` ${payload}`,
      `${payload}\n`,
      "A".repeat(5000),
      b64("null"),
      b64("[]"),
      b64("1"),
      b64("1e999"),
      b64('"text"'),
      b64("{"),
      b64("\u0000\u0001"),
      b64({ challenge: null, solution: null, test: true }),
      b64({ challenge: body.challenge }),
      b64({ solution: body.solution }),
      b64({ challenge: [], solution: {} }),
      b64({ challenge: { parameters: [], signature: body.challenge.signature }, solution: body.solution }),
      b64({ challenge: { parameters: body.challenge.parameters, signature: 7 }, solution: body.solution }),
      withSolution(null),
      withSolution([]),
      withSolution({ counter: body.solution.counter }),
      withSolution({ ...body.solution, counter: 1e300 }),
      withSolution({ ...body.solution, counter: -1 }),
      withSolution({ ...body.solution, counter: 1.5 }),
      withSolution({ ...body.solution, counter: 2 ** 32 }),
      withSolution({ ...body.solution, counter: String(body.solution.counter) }),
      withSolution({ ...body.solution, derivedKey: body.solution.derivedKey.toUpperCase() }),
      withSolution({ ...body.solution, derivedKey: "zz" + body.solution.derivedKey.slice(2) }),
      withSolution({ ...body.solution, derivedKey: body.solution.derivedKey + "00" }),
      withSolution({ ...body.solution, derivedKey: 5 }),
      withParams({ algorithm: "SHA-1" }),
      withParams({ algorithm: "PBKDF2/SHA-256" }),
      withParams({ nonce: "xyz" }),
      withParams({ nonce: 1 }),
      withParams({ keySignature: undefined }),
      withParams({ keySignature: "00" }),
      withParams({ expiresAt: "soon" }),
      withParams({ expiresAt: -1 }),
      withParams({ expiresAt: 1e308 }),
      withParams({ data: "accessible" }),
      withParams({ cost: 1e308, __proto__: { polluted: true } }),
      b64(JSON.stringify(body).replace('"parameters":{', '"parameters":{"__proto__":{"polluted":true},')),
      b64(JSON.stringify(body).replace('"counter":', '"counter":1e999,"c":')),
    ];
    for (const input of inputs) {
      const check = await checkProof(ledger, input, { hmacKey: KEY });
      assert.equal(check.verdict, "pow_invalid", `refused #${inputs.indexOf(input)}: ${JSON.stringify(input)?.slice(0, 120)}`);
    }
    assert.deepEqual(taken, [], "no malformed or forged input reached the ledger");
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(await reason(ledger, payload), "ok", "the genuine payload was never consumed by the junk");
  });

  it("concurrency: of concurrent verifications of one payload, exactly one is ok", async () => {
    const captchas = memoryLedger();
    const { payload } = await solved(captchas);
    const two = await Promise.all([verifyProof(captchas, payload, { hmacKey: KEY }), verifyProof(captchas, payload, { hmacKey: KEY })]);
    assert.deepEqual(two.sort(), ["ok", "pow_invalid"]);
    const next = await solved(captchas);
    const many = await Promise.all(Array.from({ length: 20 }, () => verifyProof(captchas, next.payload, { hmacKey: KEY })));
    assert.equal(many.filter((v) => v === "ok").length, 1);
  });

  it("a store that cannot be reached is an error, never a pass or a pow_invalid", async () => {
    const captchas = memoryLedger();
    const { payload } = await solved(captchas);
    const down: CaptchaLedger = {
      put: captchas.put,
      take: async () => {
        throw new StoreUnavailableError("test");
      },
    };
    await assert.rejects(verifyProof(down, payload, { hmacKey: KEY }), StoreUnavailableError);
  });

  it("issuing records the challenge in the ledger for its lifetime", async () => {
    const puts: { id: string; ttlMs: number; expiresAt: number }[] = [];
    const captchas = memoryLedger();
    const ledger: CaptchaLedger = {
      put: async (id, record, ttlMs) => {
        puts.push({ id, ttlMs, expiresAt: record.expiresAt });
        await captchas.put(id, record, ttlMs);
      },
      take: captchas.take,
    };
    const now = Date.now();
    const challenge = await issueChallenge(ledger, { ...issueOptions, ttlMs: 90_000, now });
    assert.equal(puts.length, 1);
    assert.equal(puts[0]!.id, `pow:${challenge.parameters.nonce}`);
    assert.equal(puts[0]!.ttlMs, 90_000);
    assert.equal(puts[0]!.expiresAt, now + 90_000);
    assert.equal(challenge.parameters.expiresAt, Math.floor((now + 90_000) / 1000));
    await assert.rejects(issueChallenge(ledger, { ...issueOptions, maxNumber: 0 }), RangeError);
    await assert.rejects(issueChallenge(ledger, { ...issueOptions, maxNumber: 2 ** 32 }), RangeError);
  });

  it("the secret counter is uniform over [0, maxNumber]", async () => {
    const captchas = memoryLedger();
    const counters: number[] = [];
    for (let i = 0; i < 200; i++) counters.push((await solved(captchas, { maxNumber: 20 })).counter);
    assert.ok(counters.every((c) => c >= 0 && c <= 20));
    assert.ok(new Set(counters).size >= 18, "nearly every value turns up");
  });
});

describe("proof of work: settings", () => {
  it("test mode asks for the minimum cost at both levels; keys are derived, never the secrets themselves", () => {
    const secrets = ["a".repeat(32), "b".repeat(32)];
    const test = powSettings({ secrets, captchaTestMode: true });
    assert.deepEqual(test.maxNumber, { normal: POW_MAX_NUMBER.test, accessible: POW_MAX_NUMBER.test });
    const live = powSettings({ secrets, captchaTestMode: false });
    assert.deepEqual(live.maxNumber, { normal: POW_MAX_NUMBER.normal, accessible: POW_MAX_NUMBER.accessible });
    assert.ok(POW_MAX_NUMBER.accessible > POW_MAX_NUMBER.normal);
    assert.equal(live.ttlMs, POW_TTL_MS);
    assert.deepEqual(live.hmacKeys, powKeys(secrets));
    assert.equal(live.hmacKeys.length, 2);
    for (const k of live.hmacKeys) assert.ok(!secrets.includes(k));
    assert.equal(powSettings({ secrets, captchaTestMode: true }, { maxNumber: { normal: 77 } }).maxNumber.normal, 77);
  });
});

describe("proof of work: the browser worker (public/pow-worker.js)", () => {
  const source = readFileSync(new URL("../../public/pow-worker.js", import.meta.url), "utf8");

  function load() {
    const posted: unknown[] = [];
    const self: { postMessage: (m: unknown) => void; onmessage?: (e: { data: unknown }) => void } = { postMessage: (m) => posted.push(m) };
    // The script's completion value is its { sha256, solve }; given a `self`, it also installs its message handler.
    const api = vm.runInNewContext(source, { self, setTimeout });
    return { context: api as { sha256(b: Uint8Array): Uint8Array; solve: (...a: unknown[]) => unknown }, self, posted };
  }

  it("computes SHA-256 exactly, for every message length up to three blocks", () => {
    const { context } = load();
    for (let n = 0; n <= 200; n++) {
      const bytes = randomBytes(n);
      assert.equal(Buffer.from(context.sha256(new Uint8Array(bytes))).toString("hex"), createHash("sha256").update(bytes).digest("hex"), `length ${n}`);
    }
  });

  it("solves our challenges: the payload it yields verifies", async () => {
    const captchas = memoryLedger();
    const { context } = load();
    for (let i = 0; i < 5; i++) {
      const challenge = (await issueChallenge(captchas, { ...issueOptions, maxNumber: 3000 })) as ChallengeJson;
      const solution = context.solve(challenge.parameters, 0, 1, () => false) as { counter: number; derivedKey: string };
      assert.ok(solution);
      const node = solveInNode(challenge)!;
      assert.deepEqual([solution.counter, solution.derivedKey], [node.counter, node.derivedKey]);
      assert.equal(await verifyProof(captchas, encodePayload(challenge, solution), { hmacKey: KEY }), "ok");
    }
  });

  it("iterated cost and odd-length prefixes work as altcha-lib defines them", async () => {
    const { context } = load();
    const { createChallenge } = await import("altcha-lib");
    const challenge = (await createChallenge({ algorithm: "SHA-256", cost: 3, counter: 777, deriveKey, hmacSignatureSecret: "x", hmacKeySignatureSecret: "y" })) as ChallengeJson;
    const solution = context.solve(challenge.parameters, 0, 1, () => false) as { counter: number; derivedKey: string };
    assert.equal(solution.counter, 777);
    const odd = { ...challenge.parameters, keyPrefix: challenge.parameters.keyPrefix.slice(0, 5) };
    const found = context.solve(odd, 0, 1, () => false) as { counter: number; derivedKey: string };
    assert.ok(found.derivedKey.startsWith(odd.keyPrefix));
    assert.ok(found.counter <= 777);
  });

  it("speaks altcha's worker protocol: interleaved counters, slices, abort, errors", async () => {
    const captchas = memoryLedger();
    const challenge = (await issueChallenge(captchas, { ...issueOptions, maxNumber: 3000 })) as ChallengeJson;
    const expected = solveInNode(challenge)!;
    const residue = expected.counter % 2;
    const run = async (message: unknown) => {
      const { self, posted } = load();
      self.onmessage!({ data: message });
      for (let i = 0; i < 100 && posted.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
      return posted[0];
    };
    const hit = (await run({ type: "work", challenge, counterStart: residue, counterStep: 2 })) as { counter: number; derivedKey: string };
    assert.equal(hit.counter, expected.counter);
    assert.equal(hit.derivedKey, expected.derivedKey);
    // The other residue class never meets the counter; it runs out only at 2^32, so abort it.
    const { self, posted } = load();
    self.onmessage!({ data: { type: "work", challenge, counterStart: 1 - residue, counterStep: 2 } });
    await new Promise((r) => setTimeout(r, 250));
    self.onmessage!({ data: { type: "abort" } });
    for (let i = 0; i < 100 && posted.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(posted, [null]);
    const bad = (await run({ type: "work", challenge: { parameters: { ...challenge.parameters, algorithm: "SCRYPT" } } })) as { error: string };
    assert.match(bad.error, /unsupported/);
  });
});

describe("GET /api/challenge", () => {
  const config = parseConfig({ SESSION_SECRET: KEY, SESSION_STORE: "memory", DATABASE_URL: "postgres://unused/unused", CAPTCHA_TEST_MODE: "1" });
  const store = createMemoryStore();
  const captchas = memoryLedger();
  const services = { config, store, sessions: sessionsOver(config, store), captchas, limiter: memoryLimiter(), db: undefined, close: async () => {} } as unknown as Services;
  const settings = powSettings(config);
  const handler = sessionRoute(() => services, (ctx) => getChallenge(ctx, settings));

  it("answers a signed challenge, no-store, without a session cookie; ?level=accessible is signed in", async () => {
    const response = await handler(new Request("http://holdfast.test/api/challenge"));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("cache-control"), "no-store");
    assert.match(response.headers.get("content-type") ?? "", /application\/json/);
    assert.equal(response.headers.getSetCookie().length, 0);
    const challenge = (await response.json()) as ChallengeJson;
    assert.deepEqual(challenge.parameters.data, { level: "normal" });
    const { payload } = solveInNode(challenge)!;
    assert.deepEqual(await checkProof(captchas, payload, { hmacKey: settings.hmacKeys }), { verdict: "ok", level: "normal" });

    const hard = (await (await handler(new Request("http://holdfast.test/api/challenge?level=accessible"))).json()) as ChallengeJson;
    assert.deepEqual(hard.parameters.data, { level: "accessible" });
    // A name given twice in a query: the first counts (the contract).
    const twice = (await (await handler(new Request("http://holdfast.test/api/challenge?level=accessible&level=normal"))).json()) as ChallengeJson;
    assert.deepEqual(twice.parameters.data, { level: "accessible" });
  });

  it("an unknown level is invalid_input", async () => {
    const response = await handler(new Request("http://holdfast.test/api/challenge?level=easy"));
    assert.equal(response.status, 400);
    const body = (await response.json()) as { error: { code: string; fields: Record<string, string> } };
    assert.equal(body.error.code, "invalid_input");
    assert.deepEqual(body.error.fields, { level: "invalid_format" });
  });
});
