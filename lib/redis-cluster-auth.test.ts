import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
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

describe("a Redis Cluster over TLS", () => {
  const tls = { dir: "", port: 0, node: undefined as ReturnType<typeof spawn> | undefined };

  before(async () => {
    tls.dir = mkdtempSync(path.join(tmpdir(), "holdfast-cluster-tls-"));
    const at = (name: string) => path.join(tls.dir, name);
    // A CA of its own, and the node's certificate for 127.0.0.1, signed by it.
    const openssl = (args: string[]) => assert.equal(spawnSync("openssl", args, { stdio: "ignore" }).status, 0, `openssl ${args.join(" ")}`);
    openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", at("ca.key"), "-out", at("ca.crt"), "-days", "2", "-subj", "/CN=holdfast test CA"]);
    openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", at("node.key"), "-out", at("node.csr"), "-subj", "/CN=127.0.0.1"]);
    writeFileSync(at("ext.cnf"), "subjectAltName=IP:127.0.0.1\n");
    openssl(["x509", "-req", "-in", at("node.csr"), "-CA", at("ca.crt"), "-CAkey", at("ca.key"), "-CAcreateserial", "-out", at("node.crt"), "-days", "2", "-extfile", at("ext.cnf")]);
    tls.port = await freePort();
    tls.node = tracked(
      spawn(
        "redis-server",
        ["--port", "0", "--tls-port", String(tls.port), "--bind", "127.0.0.1", "--tls-cert-file", at("node.crt"), "--tls-key-file", at("node.key"), "--tls-ca-cert-file", at("ca.crt"), "--tls-auth-clients", "no", "--tls-cluster", "yes", "--cluster-enabled", "yes", "--cluster-announce-ip", "127.0.0.1", "--cluster-config-file", at("nodes.conf"), "--save", "", "--appendonly", "no", "--requirepass", PASSWORD],
        { stdio: "ignore", cwd: tls.dir },
      ),
    );
    await waitForPort(tls.port, 10_000);
    const cli = (args: string[]) => spawnSync("redis-cli", ["--tls", "--cacert", at("ca.crt"), "-p", String(tls.port), "-a", PASSWORD, "--no-auth-warning", ...args], { encoding: "utf8" }).stdout;
    assert.match(cli(["cluster", "addslotsrange", "0", "16383"]), /OK/);
    for (let i = 0; i < 100 && !/cluster_state:ok/.test(cli(["cluster", "info"])); i++) await new Promise((r) => setTimeout(r, 100));
  });

  after(async () => {
    if (tls.node && tls.node.exitCode === null) {
      tls.node.kill("SIGTERM");
      await once(tls.node, "exit");
    }
    rmSync(tls.dir, { recursive: true, force: true });
  });

  /** The probe's answer, from a process that trusts the test CA (or not). */
  function probe(extra: Record<string, string>, trustCa: boolean): string {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SESSION_SECRET: "s".repeat(40),
      DATABASE_URL: "postgres://unused@127.0.0.1:1/unused",
      SESSION_STORE: "redis",
      REDIS_URL: undefined,
      UPSTASH_REDIS_REST_URL: undefined,
      UPSTASH_REDIS_REST_TOKEN: undefined,
      REDIS_CLUSTER_NODES: `127.0.0.1:${tls.port}`,
      REDIS_CLUSTER_PASSWORD: PASSWORD,
      REDIS_KEY_PREFIX: "tls-test",
      NODE_EXTRA_CA_CERTS: trustCa ? path.join(tls.dir, "ca.crt") : undefined,
      ...extra,
    };
    const run = spawnSync(process.execPath, ["--import", import.meta.resolve("tsx"), path.resolve("testing/redis-store-probe.ts")], { env, encoding: "utf8", timeout: 30_000 });
    return run.stdout.trim().split("\n").at(-1) ?? "";
  }

  it("REDIS_CLUSTER_TLS=1 reaches it over TLS, its certificate checked: sessions are written and read", () => {
    assert.equal(probe({ REDIS_CLUSTER_TLS: "1" }, true), "ok");
  });

  it("a certificate the process does not trust, or no TLS at all, is an unavailable store, never a session", () => {
    assert.equal(probe({ REDIS_CLUSTER_TLS: "1" }, false), "StoreUnavailableError");
    assert.equal(probe({}, true), "StoreUnavailableError");
  });
});

