import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import vm from "node:vm";
import { FETCH_MEASURE, POW_FAILED, ProofOfWork, proveWork, solveChallenge, type PowChallenge } from "../../app/ui/pow";
import { getChallenge } from "../api/challenge";
import { parseConfig } from "../env";
import { sessionRoute } from "../http/route";
import { memoryLimiter } from "../ratelimit/limiter";
import { sessionsOver, type Services } from "../services";
import { createMemoryStore } from "@holdfast/session/stores/memory";
import { memoryLedger } from "../captcha/ledgers/memory";
import { checkProof, issueChallenge, powSettings } from "./pow";
import { solveInNode, type ChallengeJson } from "./solve";

/**
 * The browser client (app/ui/pow.ts) in Node: `Worker` is the real public/pow-worker.js run in
 * node:vm behind a Worker-shaped wrapper, and `fetch` goes to the real GET /api/challenge
 * handler, so a proof made here is checked by the real verifier.
 */

const source = readFileSync(new URL("../../public/pow-worker.js", import.meta.url), "utf8");

class VmWorker {
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onerror: ((event: { message: string }) => void) | null = null;
  private terminated = false;
  private self: { postMessage: (m: unknown) => void; onmessage?: (e: { data: unknown }) => void };
  static created = 0;
  constructor(readonly url: string) {
    VmWorker.created++;
    this.self = { postMessage: (data) => setTimeout(() => !this.terminated && this.onmessage?.({ data }), 0) };
    vm.runInNewContext(source, { self: this.self, setTimeout });
  }
  postMessage(data: unknown) {
    setTimeout(() => !this.terminated && this.self.onmessage?.({ data }), 0);
  }
  terminate() {
    this.terminated = true;
    this.self.onmessage?.({ data: { type: "abort" } });
  }
}

const SECRET = "pow-client-secret-0123456789-0123456789";
const config = parseConfig({ SESSION_SECRET: SECRET, SESSION_STORE: "memory", DATABASE_URL: "postgres://unused/unused", CAPTCHA_TEST_MODE: "1" });
const store = createMemoryStore();
const captchas = memoryLedger();
const services = { config, store, sessions: sessionsOver(config, store), captchas, limiter: memoryLimiter(), db: undefined, close: async () => {} } as unknown as Services;
const settings = powSettings(config, { maxNumber: { normal: 5_000, accessible: 20_000 } });
const handler = sessionRoute(() => services, (ctx) => getChallenge(ctx, settings));

let fetchImpl: (url: string) => Promise<Response> = (url) => handler(new Request(new URL(url, "http://holdfast.test")));
const realFetch = globalThis.fetch;
const realWorker = (globalThis as { Worker?: unknown }).Worker;

before(() => {
  (globalThis as { Worker?: unknown }).Worker = VmWorker;
  globalThis.fetch = ((input: string) => fetchImpl(input)) as typeof fetch;
});
after(() => {
  (globalThis as { Worker?: unknown }).Worker = realWorker;
  globalThis.fetch = realFetch;
});

const verify = (payload: string) => checkProof(captchas, payload, { hmacKey: settings.hmacKeys });

describe("browser client: proveWork", () => {
  it("fetches, solves in workers and yields a payload the server accepts, at either level", async () => {
    const normal = await proveWork({ concurrency: 2 });
    assert.ok(normal.ok);
    assert.equal(normal.proof.workers, 2);
    assert.ok(normal.proof.solveMs >= 0 && normal.proof.fetchMs >= 0);
    assert.ok(normal.proof.expiresAt > Date.now() + 60_000);
    assert.deepEqual(await verify(normal.proof.payload), { verdict: "ok", level: "normal" });

    const hard = await proveWork({ level: "accessible", concurrency: 3 });
    assert.ok(hard.ok);
    assert.deepEqual(await verify(hard.proof.payload), { verdict: "ok", level: "accessible" });
    const measures = performance.getEntriesByName(FETCH_MEASURE);
    assert.ok(measures.length >= 2, "User Timing measures are recorded for tests to read");
  });

  it("every split of the counters finds the counter the server chose", async () => {
    // (In this fake, workers share one thread: a worker without the answer runs a 200 ms slice before yielding.)
    for (const concurrency of [1, 3]) {
      const challenge = (await issueChallenge(captchas, { hmacKey: settings.hmacKeys[0]!, maxNumber: 2000, ttlMs: 60_000 })) as ChallengeJson;
      const solution = await solveChallenge(challenge as PowChallenge, { concurrency });
      assert.equal(solution?.counter, solveInNode(challenge)!.counter, `concurrency ${concurrency}`);
    }
  });

  it("reports the API's code, a network failure, and a worker that cannot solve", async () => {
    fetchImpl = async () => Response.json({ error: { code: "rate_limited", message: "…" } }, { status: 429 });
    assert.deepEqual(await proveWork(), { ok: false, code: "rate_limited" });
    fetchImpl = async () => new Response("<html>bad gateway</html>", { status: 502 });
    assert.deepEqual(await proveWork(), { ok: false, code: "unexpected_response" });
    fetchImpl = async () => {
      throw new TypeError("fetch failed");
    };
    assert.deepEqual(await proveWork(), { ok: false, code: "network_error" });
    fetchImpl = async () => Response.json({ parameters: { algorithm: "SCRYPT", nonce: "00", salt: "00", keyPrefix: "00" } });
    assert.deepEqual(await proveWork(), { ok: false, code: POW_FAILED });
    fetchImpl = (url) => handler(new Request(new URL(url, "http://holdfast.test")));
  });

  it("an abort ends the work", async () => {
    const controller = new AbortController();
    const challenge = { parameters: { algorithm: "SHA-256", nonce: "00".repeat(16), salt: "11".repeat(16), cost: 1, keyLength: 32, keyPrefix: "ff".repeat(16) } };
    const pending = solveChallenge(challenge, { concurrency: 2, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    assert.equal(await pending, null);
  });
});

describe("browser client: ProofOfWork (what the hook wraps)", () => {
  it("solves in the background; take() hands the proof out once and starts the next", async () => {
    const pow = new ProofOfWork({ concurrency: 2 });
    const seen: string[] = [];
    pow.subscribe(() => seen.push(pow.getSnapshot().status));
    pow.start();
    assert.equal(pow.getSnapshot().status, "solving");
    const first = await pow.take();
    assert.ok(first.ok);
    assert.equal(pow.getSnapshot().status, "solving", "the next proof is on its way at once");
    const second = await pow.take();
    assert.ok(second.ok);
    assert.notEqual(first.proof.payload, second.proof.payload);
    assert.equal((await verify(first.proof.payload)).verdict, "ok");
    assert.equal((await verify(second.proof.payload)).verdict, "ok");
    assert.ok(seen.includes("ready") || seen.includes("solving"));
    assert.equal(typeof pow.getSnapshot().lastSolveMs, "number");
    pow.stop();
    assert.equal(pow.getSnapshot().status, "idle");
  });

  it("concurrent takes get different proofs", async () => {
    const pow = new ProofOfWork({ concurrency: 1 });
    const [a, b] = await Promise.all([pow.take(), pow.take()]);
    assert.ok(a.ok && b.ok);
    assert.notEqual(a.proof.payload, b.proof.payload);
    assert.equal((await verify(a.proof.payload)).verdict, "ok");
    assert.equal((await verify(b.proof.payload)).verdict, "ok");
    pow.stop();
  });

  it("a failure is reported by take(), and the next take tries again", async () => {
    const pow = new ProofOfWork({ concurrency: 1 });
    fetchImpl = async () => Response.json({ error: { code: "session_store_unavailable", message: "…" } }, { status: 503 });
    assert.deepEqual(await pow.take(), { ok: false, code: "session_store_unavailable" });
    assert.equal(pow.getSnapshot().status, "error");
    fetchImpl = (url) => handler(new Request(new URL(url, "http://holdfast.test")));
    const retry = await pow.take();
    assert.ok(retry.ok);
    pow.stop();
  });

  it("a level change drops the ready proof and solves at the new level", async () => {
    const pow = new ProofOfWork({ concurrency: 1 });
    pow.start();
    pow.setLevel("accessible");
    const proof = await pow.take();
    assert.ok(proof.ok);
    assert.equal(proof.proof.level, "accessible");
    assert.deepEqual(await verify(proof.proof.payload), { verdict: "ok", level: "accessible" });
    pow.stop();
  });
});
