import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Logger } from "../logger.js";
import type { RedisTransport } from "../redis/transport.js";
import { tcpTransport } from "../redis/tcp.js";
import { StoreUnavailableError, type SessionRecord } from "../store.js";
import { createRedisStore } from "./redis.js";

const record = (userId: string | null = null): SessionRecord => ({ data: { n: 1 }, userId, createdAt: 1, lastActiveAt: 1 });

/** A transport that records every command with its route and answers like a Redis whose replicas reply `replicas`. */
function fakeTransport(options: { kind?: RedisTransport["kind"]; replicas?: number; missing?: boolean; waitFails?: boolean } = {}) {
  const sent: { command: string[]; routeKey?: string }[] = [];
  const transport: RedisTransport = {
    kind: options.kind ?? "cluster",
    async send(command, routeKey) {
      sent.push({ command, routeKey });
      switch (command[0]) {
        case "SET":
          return options.missing ? null : "OK";
        case "WAIT":
          if (options.waitFails) throw new StoreUnavailableError("redis");
          return Math.min(Number(command[1]), options.replicas ?? 1);
        default:
          return 1;
      }
    },
    async close() {},
  };
  return { transport, sent, names: () => sent.map((s) => s.command[0]) };
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) };
}

describe("redis store: waitForReplicas", () => {
  it("by default sends no WAIT", async () => {
    const t = fakeTransport();
    const store = createRedisStore(t.transport);
    await store.update(await store.create(record("u1"), 60_000), record("u1"), 60_000);
    assert.ok(!t.names().includes("WAIT"), t.names().join(" "));
  });

  it("waits after the index and after the session, each on the node that took it, before the next step", async () => {
    const t = fakeTransport();
    const store = createRedisStore(t.transport, { prefix: "p", waitForReplicas: 1, waitTimeoutMs: 20 });
    await store.create(record("u1"), 60_000);
    assert.deepEqual(t.names(), ["EVALSHA", "WAIT", "SET", "WAIT"]);
    const [index, indexWait, set, setWait] = t.sent;
    assert.equal(index!.command[3], "p:user:{u1}:sessions:z");
    assert.deepEqual(indexWait, { command: ["WAIT", "1", "20"], routeKey: "p:user:{u1}:sessions:z" });
    assert.equal(setWait!.routeKey, set!.command[1]);
    assert.match(setWait!.routeKey!, /^p:sess:/);
  });

  it("waits after every delete: logout, the old session of a rotation, revocation", async () => {
    const t = fakeTransport();
    const store = createRedisStore(t.transport, { waitForReplicas: 2 });
    const token = await store.create(record(), 60_000);
    t.sent.length = 0;
    await store.delete(token);
    assert.deepEqual(t.sent.map((s) => [s.command[0], s.routeKey ?? s.command[1]]), [
      ["DEL", t.sent[0]!.command[1]],
      ["WAIT", t.sent[0]!.command[1]],
    ]);
    t.sent.length = 0;
    await store.rotate!(token, record(), 60_000);
    const del = t.sent.findIndex((s) => s.command[0] === "DEL");
    assert.equal(t.sent[del + 1]!.command[0], "WAIT");
    assert.equal(t.sent[del + 1]!.routeKey, t.sent[del]!.command[1]);
    t.sent.length = 0;
    t.transport.send = (async (command: string[], routeKey?: string) => {
      t.sent.push({ command, routeKey });
      return command[0] === "ZRANGE" ? ["h1"] : command[0] === "SMEMBERS" ? [] : command[0] === "WAIT" ? 2 : 1;
    }) as RedisTransport["send"];
    await store.revokeUser!("u1");
    assert.deepEqual(t.sent.map((s) => [s.command[0], s.routeKey]), [
      ["ZRANGE", undefined],
      ["SMEMBERS", undefined],
      ["DEL", undefined],
      ["WAIT", t.sent[2]!.command[1]],
      ["ZREM", undefined],
    ]);
  });

  it("an update of a session that is gone writes nothing, so it waits for nothing", async () => {
    const t = fakeTransport({ missing: true });
    const store = createRedisStore(t.transport, { waitForReplicas: 1 });
    assert.equal(await store.update("gone", record(), 60_000), null);
    assert.deepEqual(t.names(), ["SET"]);
  });

  it("fewer replicas than asked: the write stands, the request succeeds, and one warning says so", async () => {
    const t = fakeTransport({ replicas: 0 });
    const logger = recordingLogger();
    const store = createRedisStore(t.transport, { waitForReplicas: 1, logger });
    const token = await store.create(record(), 60_000);
    assert.equal(typeof token, "string");
    await store.create(record(), 60_000);
    assert.equal(logger.warnings.length, 1, "at most one warning every 10 s");
    assert.match(logger.warnings[0]!, /reached 0 of 1 replicas/);
    assert.ok(!logger.warnings[0]!.includes(token));
  });

  it("a WAIT that cannot reach its node makes the store unavailable (503), as the write itself would", async () => {
    const store = createRedisStore(fakeTransport({ waitFails: true }).transport, { waitForReplicas: 1 });
    await assert.rejects(store.create(record(), 60_000), StoreUnavailableError);
  });

  it("is refused over REST, and out-of-range values throw at construction", () => {
    assert.throws(() => createRedisStore(fakeTransport({ kind: "rest" }).transport, { waitForReplicas: 1 }), /waitForReplicas needs a TCP or cluster transport/);
    assert.doesNotThrow(() => createRedisStore(fakeTransport({ kind: "rest" }).transport, { waitForReplicas: 0 }));
    for (const waitForReplicas of [-1, 1.5, 17, Number.NaN]) {
      assert.throws(() => createRedisStore(fakeTransport().transport, { waitForReplicas }), /waitForReplicas must be a whole number/);
    }
    for (const waitTimeoutMs of [0, -5, 2.5, 1_001]) {
      assert.throws(() => createRedisStore(fakeTransport().transport, { waitForReplicas: 1, waitTimeoutMs }), /waitTimeoutMs must be/);
    }
  });
});

// Real Redis servers of the tests' own, on free ports, stopped when the file's tests end.
const servers: ChildProcess[] = [];
// A replica that syncs writes the snapshot it received to its working folder: keep it out of the repo.
const dir = mkdtempSync(path.join(tmpdir(), "holdfast-redis-test-"));

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });

async function redisServer(args: string[], atPort?: number): Promise<{ child: ChildProcess; port: number }> {
  const port = atPort ?? (await freePort());
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--repl-diskless-load", "on-empty-db", ...args], { stdio: ["ignore", "pipe", "ignore"] });
  servers.push(child);
  let out = "";
  child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const deadline = Date.now() + 10_000;
  while (!/Ready to accept connections|MASTER <-> REPLICA sync: Finished/.test(out)) {
    if (Date.now() > deadline) throw new Error(`redis-server ${args.join(" ")} did not start: ${out.slice(-500)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { child, port };
}

after(async () => {
  for (const child of servers) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.kill("SIGCONT");
    child.kill("SIGKILL");
    await once(child, "exit");
  }
  rmSync(dir, { recursive: true, force: true });
});

// A real primary and replica: WAIT's answer, over tcpTransport, decides whether a warning is due.
describe("redis store: waitForReplicas on a real primary and replica", () => {
  let primary = "";
  let replica: ChildProcess;

  before(async () => {
    // No diskless-sync delay: the replica syncs at once instead of after Redis's default 5 s.
    const main = await redisServer(["--repl-diskless-sync-delay", "0"]);
    primary = `redis://127.0.0.1:${main.port}`;
    replica = (await redisServer(["--replicaof", "127.0.0.1", String(main.port)])).child;
    // The replica is in sync once it says so.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const t = tcpTransport(primary);
      const info = String(await t.send(["INFO", "replication"]));
      await t.close();
      if (/connected_slaves:1/.test(info) && /slave0:.*state=online/.test(info)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("the replica never came online");
  });

  it("with the replica up, a write waits for it and nothing is logged; with it stopped, the write waits out the timeout, succeeds and is logged", async () => {
    const transport = tcpTransport(primary);
    const prefix = `wait${process.pid}`;
    // The longest timeout the store allows, so a busy machine does not pass for a missing replica.
    const healthy = recordingLogger();
    await createRedisStore(transport, { prefix, waitForReplicas: 1, waitTimeoutMs: 1_000, logger: healthy }).create(record("u1"), 60_000);
    assert.deepEqual(healthy.warnings, []);
    const logger = recordingLogger();
    const store = createRedisStore(transport, { prefix, waitForReplicas: 1, waitTimeoutMs: 200, logger });
    try {
      replica.kill("SIGSTOP");
      const started = Date.now();
      const token = await store.create(record(), 60_000);
      const took = Date.now() - started;
      replica.kill("SIGCONT");
      assert.ok(took >= 190, `waited ${took} ms`);
      assert.ok(await store.read(token, 1), "the write stands on the primary");
      assert.equal(logger.warnings.length, 1);
      assert.match(logger.warnings[0]!, /reached 0 of 1 replicas within 200 ms/);
    } finally {
      replica.kill("SIGCONT");
      await transport.close();
    }
  });
});

describe("redis store: a user's index holds only sessions that may still be alive", () => {
  let transport: RedisTransport;
  const key = "p:user:{u1}:sessions:z";
  const legacyKey = "p:user:{u1}:sessions";
  const time = async () => {
    const [seconds, micros] = (await transport.send(["TIME"])) as [string, string];
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  };
  const scores = async () => {
    const flat = (await transport.send(["ZRANGE", key, "0", "-1", "WITHSCORES"])) as string[];
    const out = new Map<string, number>();
    for (let i = 0; i < flat.length; i += 2) out.set(flat[i]!, Number(flat[i + 1]));
    return out;
  };

  before(async () => {
    transport = tcpTransport(`redis://127.0.0.1:${(await redisServer([])).port}`);
  });
  after(() => transport.close());

  it("each entry ends a minute after its session; entries past their end go at the next write, the rest stay", async () => {
    await transport.send(["DEL", key]);
    const store = createRedisStore(transport, { prefix: "p" });
    const before = await time();
    await store.create({ ...record("u1"), lastActiveAt: 1 }, 1 + 120_000);
    const [first] = [...(await scores()).values()];
    assert.ok(first! >= before + 180_000 && first! <= (await time()) + 180_000, `scored ${first! - before} ms ahead`);
    // Two entries a previous write left: one whose session ended, one still alive.
    await transport.send(["ZADD", key, String(before - 1), "ended", String(before + 3_600_000), "alive"]);
    await store.create(record("u1"), 1 + 5_000);
    const left = await scores();
    assert.equal(left.size, 3, [...left.keys()].join(" "));
    assert.ok(!left.has("ended") && left.has("alive"));
    // The set itself outlives its longest entry, and a short session never shortens it.
    assert.ok(Number(await transport.send(["PTTL", key])) >= 170_000);
  });

  it("an update re-scores its session's entry instead of adding one, and revocation empties the index", async () => {
    await transport.send(["DEL", key]);
    const store = createRedisStore(transport, { prefix: "p" });
    const token = await store.create(record("u1"), 1 + 1_000);
    const [hash, was] = [...(await scores()).entries()][0]!;
    await store.update(token, record("u1"), 1 + 600_000);
    const now = await scores();
    assert.deepEqual([...now.keys()], [hash]);
    assert.ok(now.get(hash)! >= was + 599_000);
    assert.equal(await store.revokeUser!("u1"), 1);
    assert.equal(await store.read(token, 1), null);
    assert.equal(Number(await transport.send(["ZCARD", key])), 0);
  });

  it("the plain set an earlier build kept is read and cleaned by revocation, never written, so two builds never share a key of two types", async () => {
    const store = createRedisStore(transport, { prefix: "p" });
    await transport.send(["DEL", key, legacyKey]);
    const listedThere = await store.create(record("u1"), 1 + 600_000);
    const hash = [...(await scores()).keys()][0]!;
    // What an earlier build left: its own entries, in a plain set under the old name.
    await transport.send(["DEL", key]);
    await transport.send(["SADD", legacyKey, hash, "gone-long-ago"]);
    await transport.send(["PEXPIRE", legacyKey, "600000"]);
    const listedHere = await store.create(record("u1"), 1 + 600_000);
    const kept = await store.create(record("u1"), 1 + 600_000);
    assert.equal(await transport.send(["TYPE", legacyKey]), "set", "never written as anything else");
    assert.equal(Number(await transport.send(["SCARD", legacyKey])), 2, "nor added to");
    assert.equal(await store.revokeUser!("u1", kept), 2, "the session listed only in the old set is revoked too");
    assert.equal(await store.read(listedThere, 1), null);
    assert.equal(await store.read(listedHere, 1), null);
    assert.ok(await store.read(kept, 1));
    assert.equal(Number(await transport.send(["EXISTS", legacyKey])), 0, "its entries are removed with their sessions");
  });
});

describe("tcpTransport", () => {
  it("with nothing listening, every command fails at once with the connection's error as its cause; a Redis that comes up is used", async () => {
    // A port nothing listens on until the server below starts there.
    const port = await freePort();
    const lines: string[] = [];
    const transport = tcpTransport(`redis://127.0.0.1:${port}`, { logger: { error() {}, warn: (line: string) => lines.push(line) } });
    try {
      const started = performance.now();
      for (let i = 0; i < 6; i++) {
        await assert.rejects(transport.send(["PING"]), (error: Error) => error instanceof StoreUnavailableError && (error.cause as { code?: string }).code === "ECONNREFUSED");
      }
      const failFast = performance.now() - started;
      // Each waited out the connect timeout (3 s) before.
      assert.ok(failFast < 1_500, `six commands took ${Math.round(failFast)} ms`);
      assert.ok(lines.length >= 1, "the refusal is logged");
      await redisServer([], port);
      let answer: unknown;
      for (let i = 0; i < 50 && answer === undefined; i++) {
        answer = await transport.send(["PING"]).catch(() => undefined);
        if (answer === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(answer, "PONG");
    } finally {
      await transport.close();
    }
  });

  it("refuses a missing or non-Redis URL, rather than quietly using a Redis on localhost", () => {
    for (const url of [undefined, "", "localhost:6379", "http://127.0.0.1:6379"]) {
      assert.throws(() => tcpTransport(url as unknown as string), /a redis:\/\/ or rediss:\/\/ URL is required/, String(url));
    }
  });
});
