import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import { closeTestDb, required, testDb } from "../../testing/services";
import { tcpTransport } from "@holdfast/session/redis/tcp";
import { databaseLimiter } from "./database";
import { gcra, memoryLimiter, type RateLimiter } from "./limiter";
import { redisLimiter } from "./redis";

const transport = tcpTransport(required("REDIS_URL"));
after(async () => {
  await transport.close();
  await closeTestDb();
});

describe("GCRA", () => {
  it("lets a burst of `limit` through, then spaces requests by period/limit", () => {
    const rule = { limit: 3, periodMs: 3_000 };
    let tat: number | undefined;
    const at = (now: number) => {
      const step = gcra(tat, now, rule);
      tat = step.tat;
      return step.verdict;
    };
    assert.deepEqual([at(0), at(0), at(0)].map((v) => v.ok), [true, true, true]);
    assert.deepEqual(at(0), { ok: false, retryAfterMs: 1_000 });
    assert.equal(at(999).ok, false);
    assert.equal(at(1_000).ok, true);
    assert.equal(at(1_000).ok, false);
  });
});

for (const [label, make] of [
  ["memory", () => memoryLimiter()],
  ["postgres", () => databaseLimiter(testDb())],
  ["redis", () => redisLimiter(transport, `rl-test-${randomUUID()}`)],
] as [string, () => RateLimiter][]) {
  describe(`rate limiter: ${label}`, () => {
    it("allows exactly the limit under 50 concurrent hits, and says when to retry", async () => {
      const limiter = make();
      const key = `k-${randomUUID()}`;
      const verdicts = await Promise.all(Array.from({ length: 50 }, () => limiter.hit(key, { limit: 10, periodMs: 60_000 })));
      assert.equal(verdicts.filter((v) => v.ok).length, 10);
      const refused = verdicts.find((v) => !v.ok) as { retryAfterMs: number };
      assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 6_000, `retry after ${refused.retryAfterMs}`);
    });

    it("keys are independent", async () => {
      const limiter = make();
      const rule = { limit: 1, periodMs: 60_000 };
      assert.equal((await limiter.hit(`a-${randomUUID()}`, rule)).ok, true);
      assert.equal((await limiter.hit(`b-${randomUUID()}`, rule)).ok, true);
    });
  });
}
