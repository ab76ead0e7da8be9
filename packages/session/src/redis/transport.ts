import { createHash } from "node:crypto";

/**
 * The seam under the redis store: one command, one round trip. Transports implement it over TCP
 * (`./redis/tcp`, the `redis` package, for long-running servers) and REST (`./redis/rest`,
 * `@upstash/redis`, for serverless and edge; `./redis/rest-node`, undici, the same on Node), so
 * the store's logic is written once. Every
 * command names its keys where Redis expects them (a script's in KEYS), and no command or
 * script touches two keys, so the same calls work on a single Redis and on a cluster.
 */
export interface RedisTransport {
  readonly kind: "tcp" | "rest" | "cluster";
  /**
   * Sends one command and returns its raw reply: string, number, null or array. Unreachable:
   * StoreUnavailableError. `routeKey` sends a keyless command, as is, to the primary that owns
   * that key, over the connection that wrote it: how `WAIT` reaches the node that took a write.
   * A single Redis has one node and ignores it.
   */
  send(command: string[], routeKey?: string): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * Whether an error from a REST transport is Redis answering a command (a wrong command or type,
 * an unknown script: the caller's to see) rather than the service failing. Upstash answers its
 * quotas in Redis's words ("ERR max daily request limit exceeded", "ERR DB capacity quota
 * exceeded", "ERR max concurrent connections exceeded"): those mean the store cannot serve now.
 */
export function isRedisReply(message: string): boolean {
  return /^(ERR|WRONGTYPE|NOSCRIPT|NOPERM|EXECABORT|NOTBUSY)\b/.test(message) && !/^ERR (max [a-z ]+exceeded|DB capacity quota exceeded)/i.test(message);
}

/**
 * Whether a failed request may go out again. A connection that failed before the request left
 * (refused, no such host, no connection in time) delivered nothing. After that, a reset or a
 * closed connection leaves unknown whether Redis ran the commands, so only commands that give the
 * same reply and leave the same data when run twice go again: reads, and a plain `SET`. A
 * single-use take (`GETDEL`, or `SET … XX GET` that leaves a mark) run twice would answer "already used", a `SET … NX` "taken", a
 * script count twice: worse than the honest "unavailable" the caller gets instead.
 */
export function mayResend(commands: readonly (readonly string[])[], error: unknown): boolean {
  return neverDelivered(error) || commands.every(repeatable);
}

/** The pause before the one resend. */
const RESEND_AFTER_MS = 50;

function isTimeout(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === "TimeoutError" || name === "AbortError";
}

/**
 * `attempt` (one request carrying `commands`), and once more after a short pause if it failed
 * and `mayResend` allows. No answer in time is final, and so is what `final` names (an answer).
 */
export async function resendingOnce<T>(commands: readonly (readonly string[])[], attempt: () => Promise<T>, final: (error: unknown) => boolean = () => false): Promise<T> {
  try {
    return await attempt();
  } catch (error) {
    if (final(error) || isTimeout(error) || !mayResend(commands, error)) throw error;
    await new Promise((resolve) => setTimeout(resolve, RESEND_AFTER_MS));
    return await attempt();
  }
}

const NOT_CONNECTED = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_CONNECT_TIMEOUT"]);

function neverDelivered(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && NOT_CONNECTED.has(code)) return true;
  }
  return false;
}

const READS = new Set(["GET", "MGET", "EXISTS", "SMEMBERS", "SISMEMBER", "SCARD", "ZRANGE", "TTL", "PTTL", "PING", "SCRIPT"]);

function repeatable(command: readonly string[]): boolean {
  const name = command[0]?.toUpperCase() ?? "";
  if (name === "SCRIPT") return command[1]?.toUpperCase() === "EXISTS";
  if (READS.has(name)) return true;
  // SET key value [EX|PX n]: the same value again. NX, XX and GET make the reply depend on what was there.
  return name === "SET" && !command.slice(3).some((option) => /^(NX|XX|GET)$/i.test(option));
}

/** How long one command may take before the store reports itself unavailable. */
export const REDIS_COMMAND_TIMEOUT_MS = 3_000;

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A Lua script sent by its SHA-1 (EVALSHA), so each call carries a few bytes instead of the
 * script; the first call on a Redis that does not know it yet falls back to EVAL, which loads it.
 */
export function luaScript(source: string) {
  const sha = createHash("sha1").update(source).digest("hex");
  return async (transport: RedisTransport, keys: string[], args: string[]): Promise<unknown> => {
    try {
      return await transport.send(["EVALSHA", sha, String(keys.length), ...keys, ...args]);
    } catch (error) {
      if (!/^NOSCRIPT/.test((error as Error).message)) throw error;
      return transport.send(["EVAL", source, String(keys.length), ...keys, ...args]);
    }
  };
}
