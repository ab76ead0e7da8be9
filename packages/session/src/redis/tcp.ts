import { createClient, createCluster, ErrorReply } from "redis";
import { consoleLogger, throttledWarn, type Logger } from "../logger.js";
import { StoreUnavailableError } from "../store.js";
import { REDIS_COMMAND_TIMEOUT_MS, withTimeout, type RedisTransport } from "./transport.js";

/**
 * node-redis over TCP, to one Redis (`tcpTransport`) or a Redis Cluster (`clusterTransport`):
 * one set of connections per process, reused by every request.
 */

// Error replies that say Redis cannot serve right now rather than that the command was wrong: a
// cluster between a primary's death and its replica's promotion, a replica loading, a Redis out
// of memory under `maxmemory-policy noeviction` (OOM), one that cannot persist and refuses writes
// (MISCONF), one busy with a script (BUSY).
const NOT_SERVING = /^(CLUSTERDOWN|TRYAGAIN|MASTERDOWN|LOADING|READONLY|OOM|MISCONF|BUSY|NOREPLICAS)\b/;

export interface TcpTransportOptions {
  /** Where "Redis is unreachable" is reported, at most once every 10 s. */
  logger?: Logger;
}

const socket = {
  connectTimeout: REDIS_COMMAND_TIMEOUT_MS,
  reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1_000),
};

function transport(
  kind: RedisTransport["kind"],
  client: { connect(): Promise<unknown>; on(event: "error", listener: (error: Error) => void): unknown },
  send: (command: string[], routeKey?: string) => Promise<unknown>,
  close: () => Promise<void>,
  logger: Logger,
): RedisTransport {
  // One line every 10 s is enough to say Redis is away or refusing.
  const warn = throttledWarn(logger);
  // The client retries by itself. Until its first connection is made, the promise of it stays
  // pending while Redis is away: a command waits for the first attempt's outcome only, and once
  // an attempt has failed, fails at once (503) with that attempt's error as the cause, rather
  // than each request waiting the whole timeout for a connection that is not coming. A cluster's
  // first connection tries its seeds in turn, so one that fails says nothing yet: it waits.
  let connected = false;
  let connectError: Error | undefined;
  let attemptFailed: (error: Error) => void = () => {};
  const firstFailure = new Promise<never>((_, reject) => (attemptFailed = reject));
  firstFailure.catch(() => {});
  client.on("error", (error: Error) => {
    if (!connected && kind === "tcp") {
      connectError = error;
      attemptFailed(error);
    }
    warn(`redis (${kind}): ${error.message}`);
  });
  let connecting: Promise<unknown> | undefined;
  return {
    kind,
    async send(command, routeKey) {
      connecting ??= client.connect().then(() => (connected = true));
      if (!connected) {
        // No connection yet, whatever the reason (refused, a wrong password): unavailable.
        try {
          if (connectError) throw connectError;
          await withTimeout(kind === "tcp" ? Promise.race([connecting, firstFailure]) : connecting, REDIS_COMMAND_TIMEOUT_MS, "redis connect");
        } catch (error) {
          throw new StoreUnavailableError("redis", { cause: error });
        }
      }
      try {
        return await withTimeout(send(command, routeKey), REDIS_COMMAND_TIMEOUT_MS, "redis command");
      } catch (error) {
        // An error reply is Redis answering; one that says it cannot serve now, or no answer in
        // time, means the store is unavailable.
        if (error instanceof ErrorReply && !NOT_SERVING.test(error.message)) throw error;
        // Redis's own first line (OOM command not allowed when used memory > 'maxmemory'): it
        // names the cause and holds no key or value.
        if (error instanceof ErrorReply) warn(`redis (${kind}) refused a command: ${error.message.split("\n")[0]}`);
        throw new StoreUnavailableError("redis", { cause: error });
      }
    },
    close,
  };
}

/** One Redis at a redis:// (or rediss://) URL. */
export function tcpTransport(url: string, options: TcpTransportOptions = {}): RedisTransport {
  // node-redis takes a missing URL as localhost:6379: a REDIS_URL left unset would quietly use
  // whatever Redis runs there.
  if (typeof url !== "string" || !/^rediss?:\/\//.test(url)) {
    throw new Error("@holdfast/session tcpTransport: a redis:// or rediss:// URL is required (is REDIS_URL set?)");
  }
  // RESP2 gives the same reply shapes as Upstash's REST API. Without a connection a command
  // fails at once instead of queueing until Redis returns.
  const client = createClient({ url, RESP: 2, disableOfflineQueue: true, socket });
  return transport("tcp", client, (command) => client.sendCommand(command), async () => {
    if (client.isOpen) await client.close();
    else client.destroy();
  }, options.logger ?? consoleLogger());
}

export interface ClusterTransportOptions extends TcpTransportOptions {
  /** Options for every node's connection: `username`, `password`, `socket.tls`. */
  defaults?: { username?: string; password?: string; socket?: { tls?: boolean } };
}

/**
 * A Redis Cluster, found through any of its nodes (`host:port` seeds). Each command goes to the
 * node that owns its key (the first key of the command, or of a script's KEYS, or the `routeKey`
 * of a keyless command such as WAIT); no command the
 * stores send touches two keys, so none spans two slots. Commands are never sent to replicas,
 * which may lag behind. After a primary fails, commands for its slots fail fast (503) until its
 * replica is promoted, then the client finds the new owner by itself.
 */
export function clusterTransport(seeds: string[], options: ClusterTransportOptions = {}): RedisTransport {
  if (seeds.length === 0) throw new Error("@holdfast/session cluster transport: at least one seed node is required");
  const cluster = createCluster({
    // node-redis takes TLS from the URL's scheme too, and refuses `socket.tls` beside redis://.
    rootNodes: seeds.map((seed) => ({ url: seed.includes("://") ? seed : `${options.defaults?.socket?.tls ? "rediss" : "redis"}://${seed}` })),
    RESP: 2,
    defaults: { ...options.defaults, disableOfflineQueue: true, socket: { ...options.defaults?.socket, ...socket } },
    // Look the topology up again soon after a node stops answering, so a promoted replica is
    // found within a fraction of a second of its promotion.
    topologyRefreshOnReconnectionAttemptStrategy: () => 200,
  });
  // Keyless commands (PING) go to any node; the rest to the owner of their first key.
  const firstKey = (command: string[]): string | undefined => {
    const name = command[0]!.toUpperCase();
    if (name === "PING") return undefined;
    if (name === "EVAL" || name === "EVALSHA") return Number(command[2]) > 0 ? command[3] : undefined;
    return command[1];
  };
  return transport(
    "cluster",
    cluster,
    (command, routeKey) =>
      routeKey === undefined
        ? cluster.sendCommand(firstKey(command), false, command)
        : // Straight to the key's primary: node-redis would send a keyless WAIT to every primary
          // (its command table says all_shards) and report the smallest count, so one dead shard
          // would fail every write. That node's client is the connection the write went over.
          cluster.getNodeClientForKey(routeKey, false).then((node) => node.sendCommand(command)),
    async () => {
      if (cluster.isOpen) await cluster.close();
      else cluster.destroy();
    },
    options.logger ?? consoleLogger(),
  );
}
