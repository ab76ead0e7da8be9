import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { StoreUnavailableError } from "@holdfast/session";
import { tcpTransport } from "@holdfast/session/redis/tcp";
import { tracked } from "../testing/children";
import { freePort, waitForPort } from "../testing/stack";
import { parseConfig } from "./env";
import { createServices, type Services } from "./services";

/**
 * A Redis Cluster that asks for a password, as managed clusters do: one node holding every
 * slot, started here with `requirepass`. The settings REDIS_CLUSTER_USERNAME and
 * REDIS_CLUSTER_PASSWORD reach every node's connection; without them the store is unavailable.
 */
const PASSWORD = "cluster-test-password";
let port: number;
let dir: string;
let node: ReturnType<typeof spawn>;
const opened: Services[] = [];

before(async () => {
  port = await freePort();
  dir = mkdtempSync(path.join(tmpdir(), "holdfast-cluster-auth-"));
  node = tracked(
    spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--cluster-enabled", "yes", "--cluster-config-file", path.join(dir, "nodes.conf"), "--requirepass", PASSWORD, "--masterauth", PASSWORD], { stdio: "ignore", cwd: dir }),
  );
  await waitForPort(port, 10_000);
  const admin = tcpTransport(`redis://:${PASSWORD}@127.0.0.1:${port}`);
  try {
    await admin.send(["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]);
    for (let i = 0; i < 100 && !/cluster_state:ok/.test(String(await admin.send(["CLUSTER", "INFO"]))); i++) await new Promise((r) => setTimeout(r, 100));
  } finally {
    await admin.close();
  }
});

after(async () => {
  for (const services of opened) await services.close().catch(() => {});
  if (node.exitCode === null) {
    node.kill("SIGTERM");
    await once(node, "exit");
  }
  rmSync(dir, { recursive: true, force: true });
});

function services(extra: Record<string, string>): Services {
  const made = createServices(parseConfig({ SESSION_SECRET: "s".repeat(40), DATABASE_URL: "postgres://unused@127.0.0.1:1/unused", SESSION_STORE: "redis", REDIS_CLUSTER_NODES: `127.0.0.1:${port}`, REDIS_KEY_PREFIX: "auth-test", ...extra }));
  opened.push(made);
  return made;
}

describe("a Redis Cluster that asks for a password", () => {
  it("REDIS_CLUSTER_PASSWORD reaches the nodes: sessions are written and read", async () => {
    const { store } = services({ REDIS_CLUSTER_PASSWORD: PASSWORD });
    await store.ping();
    const now = Date.now();
    const token = await store.create({ data: { n: 1 }, userId: null, createdAt: now, lastActiveAt: now }, now + 60_000);
    assert.deepEqual((await store.read(token, now))?.data, { n: 1 });
  });

  it("without it, or with a wrong one, the store is unavailable (503), never a 500", async () => {
    for (const extra of [{}, { REDIS_CLUSTER_PASSWORD: "wrong-password" }] as Record<string, string>[]) {
      const { store } = services(extra);
      await assert.rejects(store.ping(), StoreUnavailableError, JSON.stringify(extra));
    }
  });
});
