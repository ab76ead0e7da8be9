import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { Session } from "@holdfast/session";
import { createMemoryStore } from "@holdfast/session/stores/memory";
import { memoryLedger } from "./ledgers/memory";
import { SPENT } from "./ledger";
import { checkCaptcha, issueCaptcha } from "./captcha";
import { CAPTCHA_ALPHABET, CAPTCHA_LENGTH, captchaText } from "./text";

const KEYS = ["captcha-test-key"];

const options = { idleTimeoutMs: 3_600_000, absoluteTimeoutMs: 7_200_000 };

/**
 * One browser's session with a first captcha (answer `first`) issued; each later request (from
 * any of its tabs) opens the session from its cookie, issues or checks a captcha, and commits.
 */
async function oneBrowser(first: string) {
  const store = createMemoryStore();
  const captchas = memoryLedger();
  const drawn = (answer: string) => ({ ttlMs: 60_000, keys: KEYS, draw: () => ({ answer, svg: "<svg/>" }) });
  const s = new Session(store, undefined, options);
  await issueCaptcha(s, captchas, drawn(first));
  const token = ((await s.commit()) as { value: string }).value;
  const request = async <T>(run: (session: Session) => Promise<T>): Promise<T> => {
    const session = new Session(store, token, options);
    const result = await run(session);
    await session.commit();
    return result;
  };
  return {
    issue: (answer: string) => request((session) => issueCaptcha(session, captchas, drawn(answer))),
    check: (answer: string) => request((session) => checkCaptcha(session, captchas, answer, { keys: KEYS })),
  };
}

describe("captcha", () => {
  it("text comes from the look-alike-free alphabet, with every symbol in use", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const text = captchaText();
      assert.equal(text.length, CAPTCHA_LENGTH);
      for (const ch of text) seen.add(ch);
    }
    assert.equal([...seen].sort().join(""), [...CAPTCHA_ALPHABET].sort().join(""));
    for (const confusable of "0O1IL5S2Z8B") assert.ok(!CAPTCHA_ALPHABET.includes(confusable), confusable);
    // And the ones readers of the warped font mixed up: A/4/N, J/T/7, E/F, M/N, X/K/R, D/O/P, 6/G, 9/P.
    for (const confusable of "4NJ7FKD6G9") assert.ok(!CAPTCHA_ALPHABET.includes(confusable), confusable);
  });

  it("a request without a cookie is no_session; a cookie that matches nothing is session_unknown", async () => {
    const store = createMemoryStore();
    const captchas = memoryLedger();
    assert.equal(await checkCaptcha(new Session(store, undefined, options), captchas, "X", { keys: KEYS }), "no_session");
    assert.equal(await checkCaptcha(new Session(store, "nope", options), captchas, "X", { keys: KEYS }), "session_unknown");
  });

  it("answers compare without regard to case or spaces (around the characters or between them, as the image spaces them), once", async () => {
    const store = createMemoryStore();
    const captchas = memoryLedger();
    const s = new Session(store, undefined, options);
    const { answer, svg } = await issueCaptcha(s, captchas, { ttlMs: 60_000, keys: KEYS });
    assert.match(svg, /^<svg/);
    assert.ok(!svg.includes(answer), "the answer is not in the image as text");
    const change = await s.commit();
    assert.equal(change.kind, "set");
    const token = (change as { value: string }).value;
    assert.equal(await checkCaptcha(new Session(store, token, options), captchas, ` ${answer.toLowerCase().split("").join(" ")}\u00a0`, { keys: KEYS }), "ok");
  });

  it("a new captcha replaces the pending one; an answer to the replaced one is named as such, and counts for nothing", async () => {
    const { issue, check } = await oneBrowser("AAAAA");
    // Another tab of the same browser asks for a captcha: the first one no longer counts.
    await issue("CCCCC");
    assert.equal(await check("aaaaa"), "captcha_replaced");
    // Both were spent by that attempt: the pending one, and the replaced one it answered.
    assert.equal(await check("CCCCC"), "captcha_missing");

    // A wrong answer to both is just wrong; the right answer to the newest is right.
    for (const [answer, outcome] of [["EEEEE", "captcha_invalid"], ["HHHHH", "ok"]] as const) {
      await issue("MMMMM");
      await issue("HHHHH");
      assert.equal(await check(answer), outcome);
    }
  });

  it("two tabs: one tab's attempt spends the other's captcha, whose right answer then reads as replaced, never solved", async () => {
    const { issue, check } = await oneBrowser("AAAAA");
    // Tab 2 opens (BBBBB replaces AAAAA); tab 1 answers its AAAAA, which spends BBBBB too, and
    // tab 1 shows a new image (CCCCC).
    await issue("BBBBB");
    assert.equal(await check("AAAAA"), "captcha_replaced");
    await issue("CCCCC");
    // Tab 2's right answer to the image it shows is named as such: not a typing mistake, not solved.
    assert.equal(await check("BBBBB"), "captcha_replaced");
    // And it answers once: the next attempt (with a new image) finds it gone.
    await issue("DDDDD");
    assert.equal(await check("BBBBB"), "captcha_invalid");
  });

  it("the ledger keeps an answer under a key from SESSION_SECRET: what it holds reveals nothing without it, and a rotated secret still checks", async () => {
    const store = createMemoryStore();
    const inner = memoryLedger();
    const kept: { id: string; answerHash: string }[] = [];
    const captchas = { ...inner, put: (id: string, c: { answerHash: string; expiresAt: number }, ttl: number) => (kept.push({ id, answerHash: c.answerHash }), inner.put(id, c, ttl)) };
    const issue = async (keys: string[]) => {
      const s = new Session(store, undefined, options);
      const { answer } = await issueCaptcha(s, captchas, { ttlMs: 60_000, keys, draw: () => ({ answer: "ACEHM", svg: "<svg/>" }) });
      return { answer, token: ((await s.commit()) as { value: string }).value };
    };
    const old = await issue(["old-key"]);
    const bare = createHash("sha256").update(`${kept[0]!.id}:ACEHM`).digest("hex");
    assert.notEqual(kept[0]!.answerHash, bare, "not a bare hash that every possible answer can be tried against");
    assert.equal(await checkCaptcha(new Session(store, old.token, options), captchas, old.answer, { keys: ["new-key", "old-key"] }), "ok", "issued before a rotation, checked after it");
    const other = await issue(["old-key"]);
    assert.equal(await checkCaptcha(new Session(store, other.token, options), captchas, other.answer, { keys: ["another-key"] }), "captcha_invalid", "a key it was not kept under never matches");
    // A record kept as a bare hash (issued before answers were keyed) still checks, once.
    const legacy = await issue(KEYS);
    const id = kept.at(-1)!.id;
    await inner.take(id);
    await inner.put(id, { answerHash: createHash("sha256").update(`${id}:ACEHM`).digest("hex"), expiresAt: Date.now() + 60_000 }, 60_000);
    assert.equal(await checkCaptcha(new Session(store, legacy.token, options), captchas, "acehm", { keys: KEYS }), "ok");
    // Not one that could only have been drawn long after this build started: no build draws those any more.
    const late = await issue(KEYS);
    const lateId = kept.at(-1)!.id;
    await inner.take(lateId);
    await inner.put(lateId, { answerHash: createHash("sha256").update(`${lateId}:ACEHM`).digest("hex"), expiresAt: Date.now() + 2 * 3_600_000 }, 60_000);
    assert.equal(await checkCaptcha(new Session(store, late.token, options), captchas, "acehm", { keys: KEYS }), "captcha_invalid");
  });

  it("a captcha past its lifetime is captcha_expired even once the ledger has dropped its record (a Redis TTL, the sweep)", async () => {
    let clock = 1_000_000;
    const store = createMemoryStore();
    const inner = memoryLedger();
    const ids: string[] = [];
    const captchas = { ...inner, put: (id: string, c: { answerHash: string; expiresAt: number }, ttl: number) => (ids.push(id), inner.put(id, c, ttl)) };
    const s = new Session(store, undefined, { ...options, now: () => clock });
    const { answer } = await issueCaptcha(s, captchas, { ttlMs: 60_000, keys: KEYS, now: () => clock });
    const token = ((await s.commit()) as { value: string }).value;
    clock += 130_000;
    inner.evict(ids[0]!);
    assert.equal(await checkCaptcha(new Session(store, token, { ...options, now: () => clock }), captchas, answer, { keys: KEYS, now: () => clock }), "captcha_expired");
  });

  it("the memory ledger: a take leaves a tombstone for the record's lifetime, and nothing outlives it", async () => {
    const ledger = memoryLedger();
    const record = { answerHash: "h", expiresAt: Date.now() + 60_000 };
    await ledger.put("a", record, 60_000);
    await ledger.put("b", record, 1);
    assert.deepEqual(await ledger.take("a"), record);
    assert.equal(await ledger.take("a"), SPENT);
    assert.equal(await ledger.take("never"), null);
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(await ledger.take("b"), null, "past its time to live, a record is gone");
  });

  it("a session with no captcha issued is captcha_missing", async () => {
    const store = createMemoryStore();
    const captchas = memoryLedger();
    const s = new Session(store, undefined, options);
    await s.set("other", 1);
    const token = ((await s.commit()) as { value: string }).value;
    assert.equal(await checkCaptcha(new Session(store, token, options), captchas, "ACDEF", { keys: KEYS }), "captcha_missing");
  });
});
