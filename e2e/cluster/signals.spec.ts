import { spawnSync } from "node:child_process";
import { expect, test } from "@playwright/test";
import { doctorSignals } from "../../lib/doctor/signals-collect";
import { startCluster } from "../../testing/cluster";
import { proofFrom } from "../../testing/pow";
import { startRedisServer } from "../../testing/stack";

/**
 * The signals name a cause that appears only "sometimes": sign-ups through the proxy, then the
 * doctor reads every instance's counts and says which instance and why.
 */

const env = JSON.parse(process.env.CLUSTER_ENV ?? "{}") as Record<string, string>;
const TOKEN = "signals-test-token-0123456789abcdef0123456789";

/** One sign-up as a browser makes it: challenge, captcha, register; returns the register's code. */
async function signUp(base: string, n: number): Promise<string> {
  // A flow is three requests: with three instances round-robin would put every register on the
  // same one. A few extra requests shift the rotation so each instance gets its share.
  for (let k = 0; k < n % 3; k++) await fetch(`${base}/api/health`);
  const challenge = await fetch(`${base}/api/challenge`);
  const altcha = proofFrom(await challenge.text()).payload;
  const captcha = await fetch(`${base}/api/captcha`);
  const cookie = captcha.headers.getSetCookie()[0]?.split(";")[0] ?? "";
  const register = await fetch(`${base}/api/register`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie },
    body: JSON.stringify({ username: `signals_${Date.now()}_${n}`, email: `signals${Date.now()}_${n}@example.test`, password: "password-1", captcha: captcha.headers.get("x-captcha-answer"), altcha }),
  });
  const body = (await register.json()) as { error?: { code: string } };
  return body.error?.code ?? String(register.status);
}

test("two memory instances: the doctor names the process-local store from live signals", async () => {
  const cluster = await startCluster({
    env: { ...env, SESSION_STORE: "memory", NODE_ENV: "development", METRICS_TOKEN: TOKEN },
    instances: 2,
    allowMemoryStore: true,
  });
  try {
    const codes = [];
    // The doctor judges an instance from 10 sign-ups on; round-robin spreads these over both.
    for (let n = 0; n < 24; n++) codes.push(await signUp(cluster.url, n));
    expect(codes.filter((c) => c === "session_unknown").length).toBeGreaterThan(0);
    const report = await doctorSignals({ urls: [cluster.url], token: TOKEN, expectInstances: 2 });
    expect(report.instances.map((i) => i.instance).sort()).toEqual(["i1", "i2"]);
    expect(report.summary).toMatch(/session_unknown/);
    expect(report.summary).toMatch(/memory/i);
  } finally {
    await cluster.stop();
  }
});

test("one instance pointed at another Redis: npm run doctor -- --url names that instance", async () => {
  const other = await startRedisServer();
  const cluster = await startCluster({
    env: { ...env, SESSION_STORE: "redis", UPSTASH_REDIS_REST_URL: "", UPSTASH_REDIS_REST_TOKEN: "", METRICS_TOKEN: TOKEN },
    instances: 3,
    instanceEnv: { i2: { REDIS_URL: other.url } },
  });
  try {
    const codes = [];
    for (let n = 0; n < 36; n++) codes.push(await signUp(cluster.url, n));
    expect(codes.some((c) => c !== "201")).toBe(true);
    // The command a person runs, with the token in the environment, not on the command line.
    const doctor = spawnSync("npx", ["tsx", "scripts/doctor.ts", "--url", cluster.url, "--instances", "3"], {
      env: { ...process.env, ...env, SESSION_STORE: "redis", UPSTASH_REDIS_REST_URL: "", UPSTASH_REDIS_REST_TOKEN: "", METRICS_TOKEN: TOKEN },
      encoding: "utf8",
      timeout: 120_000,
    });
    const out = `${doctor.stdout}${doctor.stderr}`;
    expect(out).toMatch(/signals from 3 instances/);
    expect(out).toMatch(/signals from 3 instances: i2 does not share the session store/);
    expect(out).toMatch(/\[signals-store-target\]/);
    expect(out).not.toContain(TOKEN);
  } finally {
    await cluster.stop();
    await other.stop();
  }
});
