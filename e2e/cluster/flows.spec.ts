import { expect, test } from "@playwright/test";
import { startCluster, type Cluster } from "../../testing/cluster";
import { signUpFlow, stillLoggedIn, type FlowResult } from "./flow";

/**
 * The deployment this project is for: three instances behind nginx, round-robin. Sign-up flows
 * run one request at a time, so round-robin sends each visitor's consecutive requests to
 * different instances, and the instance header proves it.
 */

const STORE = process.env.E2E_STORE ?? "unknown";
const env = JSON.parse(process.env.CLUSTER_ENV ?? "{}") as Record<string, string>;
// The hash cost is lowered for these flow counts (the flows test sessions, not hashing), as a load test would.
const LOAD_ENV = { PASSWORD_HASH_COST: "1", BENCHMARK: "1" };

test.describe.configure({ mode: "serial", timeout: 300_000 });

test.describe(`across instances (${STORE} store)`, () => {
  test("200 sign-up flows, each request of a visitor on a different instance: all succeed and stay logged in", async () => {
    const cluster = await startCluster({ env: { ...env, ...LOAD_ENV } });
    try {
      const results: FlowResult[] = [];
      for (let i = 0; i < 200; i++) results.push(await signUpFlow(cluster.url));
      const failures = results.filter((r) => !r.ok);
      const crossed = results.filter((r) => new Set(r.instances).size === 3 && r.instances.every((n, k) => k === 0 || n !== r.instances[k - 1]));
      console.log(`[${STORE}] flows 200, succeeded ${results.length - failures.length}, each request on another instance than the one before (all three used) ${crossed.length}`);
      expect(failures.map((f) => f.failure)).toEqual([]);
      expect(crossed.length).toBe(200);
      const valid = await Promise.all(results.map((r) => stillLoggedIn(cluster.url, r.cookie!)));
      expect(valid.filter(Boolean).length).toBe(200);
    } finally {
      await cluster.stop();
    }
  });

  test("one instance killed mid-run: only requests in flight to it may fail, and every session stays valid", async () => {
    const cluster: Cluster = await startCluster({ env: { ...env, ...LOAD_ENV } });
    try {
      const VISITORS = 6;
      const ROUNDS = 12;
      let killedAt = -1;
      const results: (FlowResult & { round: number })[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        if (round === ROUNDS / 2) {
          // Kill while this round's flows are in flight.
          setTimeout(() => cluster.kill("i2"), 5);
          killedAt = round;
        }
        const batch = await Promise.all(Array.from({ length: VISITORS }, () => signUpFlow(cluster.url)));
        results.push(...batch.map((r) => ({ ...r, round })));
      }
      const failed = results.filter((r) => !r.ok);
      console.log(`[${STORE}] kill test: flows ${results.length}, failed ${failed.length} (${failed.map((f) => f.failure).join("; ")})`);
      // Failures only in the round that was in flight when i2 died, at most one per visitor.
      expect(failed.every((f) => f.round === killedAt)).toBe(true);
      expect(failed.length).toBeLessThanOrEqual(VISITORS);
      // Rounds after the kill are served by the survivors alone.
      expect(results.filter((r) => r.round > killedAt).every((r) => r.ok && !r.instances.includes("i2"))).toBe(true);
      const sessions = results.filter((r) => r.ok);
      const valid = await Promise.all(sessions.map((r) => stillLoggedIn(cluster.url, r.cookie!)));
      expect(valid.every(Boolean)).toBe(true);
    } finally {
      await cluster.stop();
    }
  });
});
