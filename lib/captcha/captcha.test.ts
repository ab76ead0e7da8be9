import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Session } from "@holdfast/session";
import { createMemoryStore } from "@holdfast/session/stores/memory";
import { memoryLedger } from "./ledgers/memory";
import { checkCaptcha, issueCaptcha } from "./captcha";
import { CAPTCHA_ALPHABET, CAPTCHA_LENGTH, captchaText } from "./text";

const options = { idleTimeoutMs: 3_600_000, absoluteTimeoutMs: 7_200_000 };

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
    assert.equal(await checkCaptcha(new Session(store, undefined, options), captchas, "X", {}), "no_session");
    assert.equal(await checkCaptcha(new Session(store, "nope", options), captchas, "X", {}), "session_unknown");
  });

  it("answers compare without regard to case or surrounding spaces, once", async () => {
    const store = createMemoryStore();
    const captchas = memoryLedger();
    const s = new Session(store, undefined, options);
    const { answer, svg } = await issueCaptcha(s, captchas, { ttlMs: 60_000 });
    assert.match(svg, /^<svg/);
    assert.ok(!svg.includes(answer), "the answer is not in the image as text");
    const change = await s.commit();
    assert.equal(change.kind, "set");
    const token = (change as { value: string }).value;
    assert.equal(await checkCaptcha(new Session(store, token, options), captchas, ` ${answer.toLowerCase()} `, {}), "ok");
  });

  it("a new captcha replaces the pending one; an answer to the replaced one is named as such, and counts for nothing", async () => {
    const store = createMemoryStore();
    const captchas = memoryLedger();
    const drawn = (answer: string) => ({ ttlMs: 60_000, draw: () => ({ answer, svg: "<svg/>" }) });
    const s = new Session(store, undefined, options);
    await issueCaptcha(s, captchas, drawn("AAAAA"));
    const token = ((await s.commit()) as { value: string }).value;
    // Another tab of the same browser asks for a captcha: the first one no longer counts.
    const tab = new Session(store, token, options);
    await issueCaptcha(tab, captchas, drawn("CCCCC"));
    await tab.commit();
    assert.equal(await checkCaptcha(new Session(store, token, options), captchas, "aaaaa", {}), "captcha_replaced");
    // Both were spent by that attempt: the pending one, and the replaced one it answered.
    assert.equal(await checkCaptcha(new Session(store, token, options), captchas, "CCCCC", {}), "captcha_missing");

    // A wrong answer to both is just wrong; the right answer to the newest is right.
    for (const [answer, outcome] of [["EEEEE", "captcha_invalid"], ["HHHHH", "ok"]] as const) {
      const a = new Session(store, token, options);
      await issueCaptcha(a, captchas, drawn("MMMMM"));
      await a.commit();
      const b = new Session(store, token, options);
      await issueCaptcha(b, captchas, drawn("HHHHH"));
      await b.commit();
      assert.equal(await checkCaptcha(new Session(store, token, options), captchas, answer, {}), outcome);
    }
  });

  it("two tabs: one tab's attempt spends the other's captcha, whose right answer then reads as replaced, never solved", async () => {
    const store = createMemoryStore();
    const captchas = memoryLedger();
    const drawn = (answer: string) => ({ ttlMs: 60_000, draw: () => ({ answer, svg: "<svg/>" }) });
    const s = new Session(store, undefined, options);
    await issueCaptcha(s, captchas, drawn("AAAAA"));
    const token = ((await s.commit()) as { value: string }).value;
    const step = async (run: (session: Session) => Promise<unknown>) => {
      const session = new Session(store, token, options);
      const result = await run(session);
      await session.commit();
      return result;
    };
    // Tab 2 opens (BBBBB replaces AAAAA); tab 1 answers its AAAAA, which spends BBBBB too, and
    // tab 1 shows a new image (CCCCC).
    await step((t) => issueCaptcha(t, captchas, drawn("BBBBB")));
    assert.equal(await step((t) => checkCaptcha(t, captchas, "AAAAA", {})), "captcha_replaced");
    await step((t) => issueCaptcha(t, captchas, drawn("CCCCC")));
    // Tab 2's right answer to the image it shows is named as such: not a typing mistake, not solved.
    assert.equal(await step((t) => checkCaptcha(t, captchas, "BBBBB", {})), "captcha_replaced");
    // And it answers once: the next attempt (with a new image) finds it gone.
    await step((t) => issueCaptcha(t, captchas, drawn("DDDDD")));
    assert.equal(await step((t) => checkCaptcha(t, captchas, "BBBBB", {})), "captcha_invalid");
  });

  it("a session with no captcha issued is captcha_missing", async () => {
    const store = createMemoryStore();
    const captchas = memoryLedger();
    const s = new Session(store, undefined, options);
    await s.set("other", 1);
    const token = ((await s.commit()) as { value: string }).value;
    assert.equal(await checkCaptcha(new Session(store, token, options), captchas, "ACDEF", {}), "captcha_missing");
  });
});
