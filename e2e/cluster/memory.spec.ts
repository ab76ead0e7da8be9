import { expect, test } from "@playwright/test";
import { once } from "node:events";
import { createServer, type AddressInfo } from "node:net";
import { diagnose } from "../../lib/doctor/diagnose";
import { gather } from "../../lib/doctor/gather";
import { ClusterRefused, startCluster } from "../../testing/cluster";
import { proofFrom } from "../../testing/pow";

/** The bug this project exists for, forced on purpose: sessions in each process's memory, two processes. */

const env = JSON.parse(process.env.CLUSTER_ENV ?? "{}") as Record<string, string>;
// next start with NODE_ENV=development is how a person gets past the production refusal by hand.
// TRUST_PROXY is left unset, the mistake the doctor should also name behind nginx.
const MEMORY = { ...env, SESSION_STORE: "memory", NODE_ENV: "development", TRUST_PROXY: "" };

test("the harness refuses several instances with the memory store", async () => {
  await expect(startCluster({ env: MEMORY, instances: 2 })).rejects.toThrow(ClusterRefused);
});

test("the harness refuses a port that something else already listens on, rather than reporting it ready", async () => {
  const taken = createServer().listen(0, "127.0.0.1");
  await once(taken, "listening");
  try {
    const { port } = taken.address() as AddressInfo;
    await expect(startCluster({ env, instances: 1, port })).rejects.toThrow(new RegExp(`port ${port} is already in use`));
  } finally {
    taken.close();
  }
});

test("two memory instances behind the proxy: the next request is session_unknown naming the cause, never captcha_invalid", async () => {
  const cluster = await startCluster({ env: MEMORY, instances: 2, allowMemoryStore: true });
  try {
    // Challenge, captcha, register: round-robin over two instances sends the register to the
    // challenge's instance (its single-use record lives in that process's memory too, and the proof
    // is checked before the session) and away from the captcha's, whose session it cannot see.
    const challenge = await fetch(`${cluster.url}/api/challenge`);
    expect(challenge.status).toBe(200);
    const altcha = proofFrom(await challenge.text()).payload;
    const captcha = await fetch(`${cluster.url}/api/captcha`);
    const cookie = captcha.headers.getSetCookie()[0]!.split(";")[0]!;
    const register = await fetch(`${cluster.url}/api/register`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie },
      body: JSON.stringify({ username: "memory_user", email: "memory@example.test", password: "password-1", captcha: captcha.headers.get("x-captcha-answer"), altcha }),
    });
    expect(register.headers.get("x-holdfast-instance")).toBe(challenge.headers.get("x-holdfast-instance"));
    expect(register.headers.get("x-holdfast-instance")).not.toBe(captcha.headers.get("x-holdfast-instance"));
    expect(register.status).toBe(400);
    const body = (await register.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("session_unknown");
    expect(body.error.message).toMatch(/one process's memory/);
    expect(body.error.message).toMatch(/several processes/);

    // A proof issued by one process and checked by the other: pow_invalid, and the message names the same cause.
    const other = await fetch(`${cluster.url}/api/challenge`);
    const stray = await fetch(`${cluster.url}/api/register`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie },
      body: JSON.stringify({ username: "memory_user2", email: "memory2@example.test", password: "password-1", captcha: "ACEHM", altcha: proofFrom(await other.text()).payload }),
    });
    expect(stray.headers.get("x-holdfast-instance")).not.toBe(other.headers.get("x-holdfast-instance"));
    const strayBody = (await stray.json()) as { error: { code: string; message: string } };
    expect(strayBody.error.code).toBe("pow_invalid");
    expect(strayBody.error.message).toMatch(/one process's memory/);

    // The doctor, pointed at the running site, names the causes it can see from outside.
    const findings = diagnose(await gather({ ...env, SESSION_STORE: "cookie" }, { url: cluster.url }));
    expect(findings.map((f) => f.check).sort()).toEqual(["captcha-test-mode", "memory-store", "trust-proxy"]);
  } finally {
    await cluster.stop();
  }
});
