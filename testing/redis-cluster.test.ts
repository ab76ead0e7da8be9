import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { createClient, createCluster, ErrorReply } from "redis";
import { keySlot, startRedisCluster, type RedisCluster } from "./redis-cluster";
import { freePort } from "./stack";

/**
 * The harness's own proof: a real six-node Redis Cluster, slots spread over three primaries,
 * redirections, and a failover whose duration is bounded. Run with
 * `node --import tsx --test testing/redis-cluster.test.ts`.
 */

const NODE_TIMEOUT_MS = 2_000;
/**
 * Measured on a busy 2-core machine with cluster-node-timeout 2 s, 14 runs: promotion 3.4-4.7 s
 * after the kill, every node ok 4.0-6.4 s after it (the node timeout, then the FAIL vote, then the
 * replica's 0.5-1 s election delay). With a 5 s node timeout promotion took 8.6-8.9 s. The bound
 * leaves room for a busier machine and still fails a failover that never happens or waits for
 * Redis's 15 s default timeout.
 */
const FAILOVER_BOUND_MS = 10_000;

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

/** A key of the given prefix whose slot the given primary serves. */
async function keyOwnedBy(cluster: RedisCluster, primary: string, prefix: string): Promise<string> {
  for (let i = 0; i < 10_000; i++) {
    const key = `${prefix}:${i}`;
    if ((await cluster.ownerOf(key)) === primary) return key;
  }
  throw new Error(`no key of ${prefix} falls on ${primary}`);
}

/**
 * A cluster client that recovers from a failover by itself. It must keep reconnecting: with
 * `reconnectStrategy: false` the dead primary's connection stays closed and every command of its
 * slots fails with "The client is closed" for good. A reconnecting node triggers a topology
 * refresh after `topologyRefreshOnReconnectionAttemptStrategy` ms (5 s when unset).
 */
function connectClient(nodes: string[]) {
  const client = createCluster({
    rootNodes: nodes.map((n) => ({ url: `redis://${n}` })),
    RESP: 2,
    topologyRefreshOnReconnectionAttemptStrategy: 200,
    defaults: {
      disableOfflineQueue: true,
      socket: { connectTimeout: 1_000, reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1_000) },
    },
  });
  client.on("error", () => {});
  return client;
}

async function eventually<T>(fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe("local Redis Cluster (testing/redis-cluster.ts)", () => {
  let cluster: RedisCluster;
  let client: ReturnType<typeof connectClient>;

  before(async () => {
    cluster = await startRedisCluster((line) => console.log(line), { nodeTimeoutMs: NODE_TIMEOUT_MS });
    client = connectClient(cluster.nodes);
    await client.connect();
  });

  after(async () => {
    if (client?.isOpen) await client.close();
    await cluster?.stop();
  });

  it("runs six nodes: three primaries serving all slots, each with one live replica", async () => {
    assert.equal(cluster.nodes.length, 6);
    const primaries = await cluster.primaries();
    assert.equal(primaries.length, 3);
    const replicas = await Promise.all(primaries.map((p) => cluster.replicaOf(p)));
    assert.ok(replicas.every((r) => r !== null && !primaries.includes(r)), `replicas: ${replicas.join(", ")}`);
    assert.equal(new Set([...primaries, ...replicas]).size, 6);
    const info = await cluster.command(cluster.nodes[0]!, "CLUSTER", "INFO");
    assert.match(info, /^cluster_state:ok/m);
    assert.match(info, /^cluster_slots_ok:16384/m);
    assert.match(info, /^cluster_known_nodes:6/m);
  });

  it("computes a key's slot exactly as Redis does, hash tags included", async () => {
    const keys = ["foo", "bar", "hf:sess:abc", "{u1}:sessions", "hf:{u1}:sess:x", "{}:a", "a{}b", "{{x}}", "é{ü}", "x{y", "}{z}"];
    for (const key of keys) {
      assert.equal(keySlot(key), Number(await cluster.command(cluster.nodes[0]!, "CLUSTER", "KEYSLOT", key)), key);
    }
    assert.equal(keySlot("hf:{u1}:sess:a"), keySlot("hf:{u1}:user"));
  });

  it("stores keys of different slots on different primaries, and keys of one hash tag together", async () => {
    const primaries = await cluster.primaries();
    const keys = await Promise.all(primaries.map((p, i) => keyOwnedBy(cluster, p, `spread${i}`)));
    for (const key of keys) await client.set(key, `value of ${key}`);
    await client.set("{tag}:a", "1");
    await client.set("{tag}:b", "2");
    for (const [i, primary] of primaries.entries()) {
      // Asked directly, without redirection: the owner has the key, the other primaries none of them.
      assert.equal((await cluster.command(primary, "GET", keys[i]!)).trim(), `value of ${keys[i]}`);
      for (const other of primaries.filter((p) => p !== primary)) assert.match(await cluster.command(other, "GET", keys[i]!), /^MOVED /);
    }
    const tagOwner = await cluster.ownerOf("{tag}:a");
    assert.equal((await cluster.command(tagOwner, "MGET", "{tag}:a", "{tag}:b")).trim().split("\n").join(","), "1,2");
  });

  it("answers MOVED, naming the owner, when a node that does not serve the slot is asked", async () => {
    const key = "moved:probe";
    const owner = await cluster.ownerOf(key);
    const other = (await cluster.primaries()).find((p) => p !== owner)!;
    const plain = createClient({ url: `redis://${other}`, RESP: 2 });
    plain.on("error", () => {});
    await plain.connect();
    try {
      await assert.rejects(plain.get(key), (error: unknown) => {
        assert.ok(error instanceof ErrorReply);
        assert.equal(error.message, `MOVED ${keySlot(key)} ${owner}`);
        return true;
      });
    } finally {
      plain.destroy();
    }
  });

  it(`promotes a killed primary's replica within ${FAILOVER_BOUND_MS} ms, keeping writes its replica acknowledged`, async () => {
    const victim = (await cluster.primaries())[0]!;
    const replica = await cluster.replicaOf(victim);
    const tag = (await keyOwnedBy(cluster, victim, "failover")).replace(/^failover:/, "");
    const keys = Array.from({ length: 100 }, (_, i) => `{failover${tag}}:${i}`);
    assert.equal(await cluster.ownerOf(keys[0]!), victim);
    for (const key of keys) await client.set(key, key);
    // WAIT on the key's node: every write before it has reached the replica.
    assert.equal(await client.sendCommand(keys[0], false, ["WAIT", "1", "2000"]), 1);

    await cluster.killPrimary(victim);
    const result = await cluster.waitForFailover(victim, 30_000);
    console.log(`failover: ${replica} promoted ${result.promotedMs} ms after the kill, cluster ok after ${result.convergedMs} ms`);
    assert.equal(result.promoted, replica);
    assert.ok(result.promotedMs <= FAILOVER_BOUND_MS, `promotion took ${result.promotedMs} ms`);
    assert.ok(!(await cluster.primaries()).includes(victim));

    // The cluster client finds the new owner by itself (within a second of its topology refresh
    // and reconnection backoff), and nothing acknowledged was lost.
    const values = await eventually(() => client.mGet(keys), 5_000);
    assert.deepEqual(values, keys);

    // The old primary comes back as the replica of the node that replaced it.
    await cluster.revive(victim);
    await cluster.waitUntilHealthy(30_000);
    assert.equal(await cluster.replicaOf(replica!), victim);
  });

  it("stop() ends every node and removes the temporary folder", async () => {
    await client.close();
    await cluster.stop();
    for (const node of cluster.nodes) assert.ok(await refuses(Number(node.split(":")[1])), `${node} still listens`);
    assert.equal(existsSync(cluster.dir), false);
  });
});

describe("starting a Redis Cluster when a chosen port is taken", () => {
  it("freePort never hands out one port twice in a process", async () => {
    const ports = [];
    for (let i = 0; i < 1_000; i++) ports.push(await freePort());
    assert.equal(new Set(ports).size, ports.length);
  });

  it("starts over on new ports, and says why, when another process holds a node's port", async () => {
    // A listener that is not Redis: it takes connections and drops them at once.
    const squatter = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => squatter.listen(0, "127.0.0.1", resolve));
    const taken = (squatter.address() as net.AddressInfo).port;
    let first = true;
    const ports = async () => {
      if (!first) return freePort();
      first = false;
      return taken;
    };
    const lines: string[] = [];
    let started: RedisCluster | undefined;
    try {
      started = await startRedisCluster((line) => lines.push(line), { ports });
      assert.ok(!started.nodes.includes(`127.0.0.1:${taken}`), started.nodes.join(", "));
      assert.equal((await started.primaries()).length, 3);
      const retries = lines.filter((line) => line.includes("attempt 1 of 3 failed"));
      assert.equal(retries.length, 1, lines.join("\n"));
      console.log(retries[0]);
      assert.match(retries[0]!, new RegExp(`${taken}`));
    } finally {
      await started?.stop();
      squatter.close();
    }
  });
});
