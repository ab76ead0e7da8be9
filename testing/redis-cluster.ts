import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { stripVTControlCharacters } from "node:util";
import { freePort, waitForPort } from "./stack";
import { tracked } from "./children";

/**
 * A local Redis Cluster of six redis-server processes: three primaries with one replica each,
 * made by `redis-cli --cluster create`, on spare ports of 127.0.0.1. Nothing is kept on disk but
 * each node's nodes.conf in a temporary folder (no RDB, no AOF, replicas load the primary's
 * stream straight into memory). Everything started here is stopped, and the folder removed, by
 * `stop()`; a test process that exits without calling it still kills the servers.
 */

export const HOST = "127.0.0.1";
const SLOTS = 16_384;

export interface RedisClusterOptions {
  /**
   * cluster-node-timeout: how long a node may be unreachable before the others fail it over.
   * Redis's default is 15 s; 2 s keeps failover tests short without false alarms on a busy machine.
   */
  nodeTimeoutMs?: number;
  /** Longest wait for the cluster to come up. */
  startTimeoutMs?: number;
  /** Where the nodes' ports come from (spare ports of 127.0.0.1 when unset). */
  ports?: () => Promise<number>;
}

export interface FailoverResult {
  /** The replica that took over the killed primary's slots. */
  promoted: string;
  /** From the kill until the replica called itself a primary (ROLE). */
  promotedMs: number;
  /** From the kill until every live node said cluster_state:ok with all slots served. */
  convergedMs: number;
}

export interface RedisCluster {
  /** Every node's host:port, primaries and replicas alike: the seed list for a cluster client. */
  nodes: string[];
  /** The temporary folder of the nodes' configs, nodes.conf files and logs; removed by stop(). */
  dir: string;
  /** The current primaries (host:port) that serve slots, in slot order. */
  primaries(): Promise<string[]>;
  /** The live replica of a primary, or null when it has none. */
  replicaOf(primary: string): Promise<string | null>;
  /** The primary (host:port) serving a key's slot now. */
  ownerOf(key: string): Promise<string>;
  /** SIGKILLs the redis-server of a current primary, as a crash would. */
  killPrimary(hostPort: string): Promise<void>;
  /** Waits until a replica of the killed primary serves its slots and the cluster is whole again. */
  waitForFailover(killed: string, timeoutMs?: number): Promise<FailoverResult>;
  /** Starts a killed node again on its own port and nodes.conf; it rejoins (as a replica). */
  revive(hostPort: string): Promise<void>;
  /** Waits until every live node reports cluster_state:ok, all slots served and replicas in sync. */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  /** Runs one command on one node (no redirection) with redis-cli and returns its raw output. */
  command(hostPort: string, ...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** One line of CLUSTER NODES. */
export interface ClusterNodeView {
  id: string;
  hostPort: string;
  flags: string[];
  primaryId: string | null;
  slots: [number, number][];
}

// CRC16-CCITT (XModem), polynomial 0x1021, initial value 0: the checksum Redis Cluster hashes keys with.
const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
})();

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ b) & 0xff]!;
  return crc;
}

/**
 * The hash slot of a key, as Redis Cluster computes it: when the key holds `{…}` with at least
 * one character between the first `{` and the next `}`, only that part is hashed (a hash tag).
 */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key, "utf8");
  const open = bytes.indexOf(0x7b);
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) return crc16(bytes.subarray(open + 1, close)) % SLOTS;
  }
  return crc16(bytes) % SLOTS;
}

/** Parses CLUSTER NODES output (slot ranges only; importing/migrating markers are skipped). */
export function parseClusterNodes(text: string): ClusterNodeView[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [id, address, flags, primary, , , , , ...slots] = line.split(" ");
      return {
        id: id!,
        // ip:port@cport[,hostname]
        hostPort: address!.split("@")[0]!,
        flags: flags!.split(","),
        primaryId: primary === "-" ? null : primary!,
        slots: slots
          .filter((s) => !s.startsWith("["))
          .map((s) => {
            const [from, to] = s.split("-").map(Number);
            return [from!, to ?? from!] as [number, number];
          }),
      };
    });
}

const isPrimary = (n: ClusterNodeView) => n.flags.includes("master") && !n.flags.includes("fail") && n.slots.length > 0;
const isFailed = (n: ClusterNodeView) => n.flags.includes("fail") || n.flags.includes("noaddr");

function portOf(hostPort: string): number {
  return Number(hostPort.slice(hostPort.lastIndexOf(":") + 1));
}

function redisCli(args: string[], timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("redis-cli", args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      // redis-cli colours its errors; the colour codes are dropped from the message.
      const said = stripVTControlCharacters(stderr || stdout || error.message).trim();
      reject(new Error(`redis-cli ${args.join(" ")}: ${said}`, { cause: error }));
    });
  });
}

function nodeConfig(dir: string, port: number, busPort: number, nodeTimeoutMs: number): string {
  return `port ${port}
bind ${HOST}
cluster-enabled yes
# An explicit bus port: port + 10000 may not be free, or may not even exist, for an ephemeral port.
cluster-port ${busPort}
cluster-config-file nodes.conf
cluster-node-timeout ${nodeTimeoutMs}
dir ${dir}
daemonize no
logfile ""
# Nothing on disk but nodes.conf: no snapshots, no AOF, replicas sync without files.
save ""
appendonly no
repl-diskless-sync yes
repl-diskless-sync-delay 0
repl-diskless-load on-empty-db
`;
}

interface Node {
  hostPort: string;
  port: number;
  dir: string;
  process: ChildProcess;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startRedisCluster(log: (line: string) => void = () => {}, options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 2_000;
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const nextPort = options.ports ?? freePort;
  const root = mkdtempSync(path.join(tmpdir(), "holdfast-redis-cluster-"));
  const nodes: Node[] = [];
  /** Each killed primary: when, and which replicas could replace it (as it saw them itself). */
  const killed = new Map<string, { at: number; replicas: string[] }>();

  // A test process that exits without stop() must leave neither servers nor files behind.
  const killAll = () => {
    for (const node of nodes) if (node.process.exitCode === null && node.process.signalCode === null) node.process.kill("SIGKILL");
    rmSync(root, { recursive: true, force: true });
  };
  process.once("exit", killAll);

  const launch = (node: Omit<Node, "process">): Node => {
    // The log is appended across restarts of one node, and read when something goes wrong.
    const out = openSync(path.join(node.dir, "redis.log"), "a");
    const child = tracked(spawn("redis-server", [path.join(node.dir, "redis.conf")], { stdio: ["ignore", out, out] }));
    closeSync(out);
    return { ...node, process: child };
  };

  const logTail = (node: Node) => {
    try {
      return readFileSync(path.join(node.dir, "redis.log"), "utf8").trim().split("\n").slice(-5).join("\n");
    } catch {
      return "(no log)";
    }
  };

  const alive = (node: Node) => node.process.exitCode === null && node.process.signalCode === null;
  const byAddress = (hostPort: string) => {
    const node = nodes.find((n) => n.hostPort === hostPort);
    if (!node) throw new Error(`${hostPort} is not a node of this cluster (${nodes.map((n) => n.hostPort).join(", ")})`);
    return node;
  };
  const command = (hostPort: string, ...args: string[]) => redisCli(["-h", HOST, "-p", String(portOf(hostPort)), ...args]);

  /** The cluster as the first live node that answers sees it. */
  const view = async (): Promise<ClusterNodeView[]> => {
    let last: unknown;
    for (const node of nodes.filter(alive)) {
      try {
        return parseClusterNodes(await command(node.hostPort, "CLUSTER", "NODES"));
      } catch (error) {
        last = error;
      }
    }
    throw new Error("no node of the cluster answers", { cause: last });
  };

  const primaries = async () => {
    const all = (await view()).filter(isPrimary);
    return all.sort((a, b) => a.slots[0]![0] - b.slots[0]![0]).map((n) => n.hostPort);
  };

  const replicaOf = async (primary: string) => {
    const all = await view();
    const owner = all.find((n) => n.hostPort === primary);
    if (!owner) throw new Error(`${primary} is not in the cluster's view`);
    return all.find((n) => n.primaryId === owner.id && n.flags.includes("slave") && !isFailed(n))?.hostPort ?? null;
  };

  /** Problems that keep the cluster from being whole, as every live node sees it; empty when healthy. */
  const problems = async (): Promise<string[]> => {
    const found: string[] = [];
    for (const node of nodes.filter(alive)) {
      try {
        const info = await command(node.hostPort, "CLUSTER", "INFO");
        const field = (name: string) => new RegExp(`^${name}:(\\S+)`, "m").exec(info)?.[1];
        if (field("cluster_state") !== "ok") found.push(`${node.hostPort}: cluster_state:${field("cluster_state")}`);
        if (field("cluster_slots_ok") !== String(SLOTS)) found.push(`${node.hostPort}: cluster_slots_ok:${field("cluster_slots_ok")}`);
        const seen = parseClusterNodes(await command(node.hostPort, "CLUSTER", "NODES"));
        const served = seen.filter(isPrimary).reduce((sum, n) => sum + n.slots.reduce((s, [a, b]) => s + b - a + 1, 0), 0);
        if (served !== SLOTS) found.push(`${node.hostPort}: primaries serve ${served} slots`);
        // Every live node as this node sees it: known, not failed, and either serving slots or
        // replicating a primary that does. (Gossip reaches nodes one after another.)
        const serving = new Set(seen.filter(isPrimary).map((n) => n.id));
        for (const peer of nodes.filter(alive)) {
          const entry = seen.find((n) => n.hostPort === peer.hostPort);
          if (!entry) found.push(`${node.hostPort} does not know ${peer.hostPort}`);
          else if (entry.flags.some((f) => ["fail", "fail?", "handshake", "noaddr"].includes(f))) found.push(`${node.hostPort} sees ${peer.hostPort} as ${entry.flags.join(",")}`);
          else if (!serving.has(entry.id) && !(entry.flags.includes("slave") && entry.primaryId !== null && serving.has(entry.primaryId))) {
            found.push(`${node.hostPort} sees ${peer.hostPort} neither serving slots nor replicating a primary`);
          }
        }
        const me = seen.find((n) => n.flags.includes("myself"));
        if (me?.flags.includes("slave")) {
          const replication = await command(node.hostPort, "INFO", "replication");
          if (!/^master_link_status:up/m.test(replication)) found.push(`${node.hostPort}: replica link not up`);
        }
      } catch (error) {
        found.push(`${node.hostPort}: ${(error as Error).message}`);
      }
    }
    return found;
  };

  const waitUntilHealthy = async (timeoutMs = startTimeoutMs) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = await problems();
      if (found.length === 0) return;
      if (Date.now() > deadline) throw new Error(`the Redis Cluster is not healthy after ${timeoutMs} ms: ${found.join("; ")}`);
      await sleep(100);
    }
  };

  const stopNodes = () =>
    Promise.all(
      nodes.map(async (node) => {
        if (!alive(node)) return;
        const exited = once(node.process, "exit");
        node.process.kill("SIGTERM");
        const timer = setTimeout(() => node.process.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }),
    );

  const stop = async () => {
    process.removeListener("exit", killAll);
    await stopNodes();
    rmSync(root, { recursive: true, force: true });
  };

  /**
   * Six servers on spare ports, made one cluster. A spare port can be taken by another process
   * between the moment it is chosen and redis-server's bind, and a server that then exits is
   * seen at once (not after the port wait), so each attempt that fails is logged with its cause
   * and the next one starts over on new ports.
   */
  const attempt = async () => {
    for (let i = 0; i < 6; i++) {
      const port = await nextPort();
      const busPort = await nextPort();
      const dir = path.join(root, String(port));
      mkdirSync(dir);
      writeFileSync(path.join(dir, "redis.conf"), nodeConfig(dir, port, busPort, nodeTimeoutMs));
      nodes.push(launch({ hostPort: `${HOST}:${port}`, port, dir }));
    }
    await Promise.all(
      nodes.map(async (node) => {
        const exited = once(node.process, "exit").then(([code, signal]) => {
          throw new Error(`exited (${signal ?? `code ${code}`})`);
        });
        try {
          await Promise.race([waitForPort(node.port, 10_000), exited]);
        } catch (error) {
          throw new Error(`redis-server on ${node.hostPort} did not start: ${(error as Error).message}\n${logTail(node)}`);
        } finally {
          exited.catch(() => {});
        }
      }),
    );
    await redisCli(["--cluster", "create", ...nodes.map((n) => n.hostPort), "--cluster-replicas", "1", "--cluster-yes"], startTimeoutMs);
    await waitUntilHealthy();
  };

  const ATTEMPTS = 3;
  for (let i = 1; ; i++) {
    try {
      await attempt();
      break;
    } catch (error) {
      await stopNodes();
      nodes.length = 0;
      if (i === ATTEMPTS) {
        await stop();
        throw error;
      }
      log(`redis cluster: attempt ${i} of ${ATTEMPTS} failed, starting over on new ports: ${(error as Error).message}`);
    }
  }
  log(`redis cluster: ${(await primaries()).length} primaries + replicas on ${nodes.map((n) => n.port).join(", ")} (node timeout ${nodeTimeoutMs} ms)`);

  return {
    nodes: nodes.map((n) => n.hostPort),
    dir: root,
    primaries,
    replicaOf,
    async ownerOf(key) {
      const slot = keySlot(key);
      const owner = (await view()).find((n) => isPrimary(n) && n.slots.some(([a, b]) => slot >= a && slot <= b));
      if (!owner) throw new Error(`no primary serves slot ${slot}`);
      return owner.hostPort;
    },
    async killPrimary(hostPort) {
      const node = byAddress(hostPort);
      if (!(await primaries()).includes(hostPort)) throw new Error(`${hostPort} is not a primary now`);
      // The primary's own view names its replicas: no other node's gossip can be more current.
      const own = parseClusterNodes(await command(hostPort, "CLUSTER", "NODES"));
      const id = own.find((n) => n.flags.includes("myself"))!.id;
      const replicas = own.filter((n) => n.primaryId === id && !isFailed(n)).map((n) => n.hostPort);
      const exited = once(node.process, "exit");
      node.process.kill("SIGKILL");
      killed.set(hostPort, { at: Date.now(), replicas });
      await exited;
    },
    async waitForFailover(victim, timeoutMs = 30_000) {
      const kill = killed.get(victim);
      if (!kill) throw new Error(`${victim} was not killed with killPrimary`);
      const { at: since, replicas: candidates } = kill;
      if (candidates.length === 0) throw new Error(`${victim} had no replica that could take over`);
      const deadline = since + timeoutMs;
      let promoted: string | undefined;
      let promotedMs = 0;
      for (;;) {
        if (!promoted) {
          for (const candidate of candidates) {
            const role = await command(candidate, "ROLE").catch(() => "");
            if (role.startsWith("master")) {
              promoted = candidate;
              promotedMs = Date.now() - since;
            }
          }
        }
        if (promoted && (await problems()).length === 0) return { promoted, promotedMs, convergedMs: Date.now() - since };
        if (Date.now() > deadline) {
          throw new Error(`no failover of ${victim} within ${timeoutMs} ms: ${promoted ? `${promoted} promoted but ${(await problems()).join("; ")}` : "no replica promoted"}`);
        }
        await sleep(50);
      }
    },
    async revive(hostPort) {
      const index = nodes.findIndex((n) => n.hostPort === hostPort);
      const node = nodes[index];
      if (!node) throw new Error(`${hostPort} is not a node of this cluster`);
      if (alive(node)) throw new Error(`${hostPort} is still running`);
      nodes[index] = launch(node);
      await waitForPort(node.port, 10_000);
    },
    waitUntilHealthy,
    command,
    stop,
  };
}
