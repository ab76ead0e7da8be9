import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, beforeEach, describe, it } from "node:test";
import type { CookieChange } from "@holdfast/session";
import { required } from "../../testing/services";
import { STORE_CONFIGS } from "../../testing/stores";
import { parseConfig } from "../env";
import { createServices, type Services } from "../services";
import { checkCaptcha, issueCaptcha } from "./captcha";

const KEYS = ["captcha-test-key"];

/**
 * Single use of a captcha, on the ledger each store configuration of testing/stores.ts gets
 * from the composition root, with that configuration's sessions: a replayed cookie (the same
 * sealed value again, as an attacker would send it) never spends one captcha twice.
 */

const stack = {
  env: {
    DATABASE_URL: required("DATABASE_URL"),
    REDIS_URL: required("REDIS_URL"),
    UPSTASH_REDIS_REST_URL: required("UPSTASH_REDIS_REST_URL"),
    UPSTASH_REDIS_REST_TOKEN: required("UPSTASH_REDIS_REST_TOKEN"),
    REDIS_CLUSTER_NODES: required("REDIS_CLUSTER_NODES"),
  },
};
const opened: Services[] = [];
after(async () => {
  for (const services of opened) await services.close();
});

const tokenOf = (change: CookieChange): string => {
  assert.equal(change.kind, "set");
  return (change as { value: string }).value;
};

for (const entry of STORE_CONFIGS) {
  describe(`captcha ledger: ${entry.name}`, () => {
    let clock = Date.now();
    const now = () => clock;
    // The real clock: the Postgres ledger's background sweep deletes by it.
    beforeEach(() => void (clock = Date.now()));
    const setup = () => {
      const services = createServices(parseConfig({ ...stack.env, ...entry.env(stack), REDIS_KEY_PREFIX: `ledger-${randomUUID().slice(0, 8)}` }));
      opened.push(services);
      return { open: (token?: string) => services.sessions.open(token), captchas: services.captchas };
    };

    it("50 concurrent uses of one captcha give exactly one acceptance", async () => {
      const { open, captchas } = setup();
      const s = open();
      const { answer } = await issueCaptcha(s, captchas, { ttlMs: 300_000, now, keys: KEYS });
      const token = tokenOf(await s.commit());
      const outcomes = await Promise.all(Array.from({ length: 50 }, () => checkCaptcha(open(token), captchas, answer.toLowerCase(), { now, keys: KEYS })));
      assert.equal(outcomes.filter((o) => o === "ok").length, 1, `outcomes: ${outcomes.join(",")}`);
      assert.ok(outcomes.every((o) => o === "ok" || o === "captcha_missing"));
    });

    it("a captcha is consumed by a wrong answer, and a replayed cookie cannot use it again", async () => {
      const { open, captchas } = setup();
      const s = open();
      const { answer } = await issueCaptcha(s, captchas, { ttlMs: 300_000, now, keys: KEYS });
      const token = tokenOf(await s.commit());
      assert.equal(await checkCaptcha(open(token), captchas, "WRONG", { now, keys: KEYS }), "captcha_invalid");
      assert.equal(await checkCaptcha(open(token), captchas, answer, { now, keys: KEYS }), "captcha_missing");
    });

    it("a captcha this ledger never held reads as lost; one it holds, used, reads as missing, and a lost one was never checked", async () => {
      const { open, captchas } = setup();
      // Drawn where the record went to another ledger (an instance on another database or Redis, or evicted since).
      const elsewhere = { ...captchas, put: async () => {} };
      const s = open();
      const { answer } = await issueCaptcha(s, elsewhere, { ttlMs: 300_000, now, keys: KEYS });
      const token = tokenOf(await s.commit());
      assert.equal(await checkCaptcha(open(token), captchas, answer, { now, keys: KEYS }), "captcha_lost");
      // Past its lifetime it reads as expired, lost or not.
      clock += 300_000;
      assert.equal(await checkCaptcha(open(token), captchas, answer, { now, keys: KEYS }), "captcha_expired");
      // A record taken once leaves a tombstone for as long as the captcha lives: the second take finds it used, not lost.
      clock = Date.now();
      const t = open();
      await issueCaptcha(t, captchas, { ttlMs: 300_000, now, keys: KEYS });
      const used = tokenOf(await t.commit());
      const [first, second] = await Promise.all([checkCaptcha(open(used), captchas, "WRONG", { now, keys: KEYS }), checkCaptcha(open(used), captchas, "WRONG", { now, keys: KEYS })]);
      assert.deepEqual([first, second].sort(), ["captcha_invalid", "captcha_missing"]);
    });

    it("an expired captcha is refused", async () => {
      const { open, captchas } = setup();
      const s = open();
      const { answer } = await issueCaptcha(s, captchas, { ttlMs: 1000, now, keys: KEYS });
      const token = tokenOf(await s.commit());
      clock += 1000;
      assert.equal(await checkCaptcha(open(token), captchas, answer, { now, keys: KEYS }), "captcha_expired");
    });
  });
}
