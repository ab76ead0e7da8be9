import { Pool } from "undici";
import { StoreUnavailableError } from "../store.js";
import { isRedisReply, REDIS_COMMAND_TIMEOUT_MS, type RedisTransport } from "./transport.js";

/**
 * Upstash's REST API from a Node server, over an `undici` connection pool instead of `fetch`.
 * Same service, same commands and replies as `restTransport` (`./rest`); on Node each command
 * costs a fraction of the CPU, since `fetch` builds a WHATWG Request, Response and streams per
 * call (and Next wraps every `fetch` in its own caching and tracing). Not for edge runtimes,
 * which have no sockets: use `restTransport` there.
 *
 * The protocol is Upstash's documented one: POST the command as a JSON array, with the token as
 * a bearer; the answer is `{"result": …}` or `{"error": "…"}`. Replies come as plain JSON (no
 * base64 encoding asked for): the stores keep UTF-8 text only. Read-your-writes holds as with
 * `@upstash/redis`: the last `upstash-sync-token` the service sent goes with the next command.
 */

/** An error reply from Redis (a wrong command or type), as opposed to the store being unavailable. */
export class RedisReplyError extends Error {
  override name = "RedisReplyError";
}

export interface NodeRestTransportOptions {
  /** Connections kept open to the REST service, at most; further commands wait for one. Default 32. */
  connections?: number;
  /** How long one attempt at a command may take, waiting for a connection included (a failed connection gets one more attempt). Default 3 s. */
  timeoutMs?: number;
}

/** One retry after a failed connection, as `restTransport` configures `@upstash/redis`. */
const RETRY_AFTER_MS = 50;

interface Reply {
  result?: unknown;
  error?: unknown;
}

function isTimeout(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === "TimeoutError" || name === "AbortError";
}

export function nodeRestTransport(url: string, token: string, options: NodeRestTransportOptions = {}): RedisTransport {
  const base = new URL(url);
  if (base.protocol !== "https:" && base.protocol !== "http:") throw new Error("nodeRestTransport: the REST URL must be http(s)");
  const path = base.pathname.replace(/\/+$/, "") || "/";
  const timeoutMs = options.timeoutMs ?? REDIS_COMMAND_TIMEOUT_MS;
  const pool = new Pool(base.origin, { connections: options.connections ?? 32 });
  let syncToken = "";

  async function post(body: string): Promise<{ status: number; reply: Reply }> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    if (syncToken) headers["upstash-sync-token"] = syncToken;
    const response = await pool.request({ path, method: "POST", headers, body, signal: AbortSignal.timeout(timeoutMs) });
    const text = await response.body.text();
    const next = response.headers["upstash-sync-token"];
    if (typeof next === "string" && next) syncToken = next;
    let reply: Reply;
    try {
      reply = JSON.parse(text) as Reply;
    } catch {
      throw new Error(`the REST service answered ${response.statusCode} with a body that is not JSON`);
    }
    if (typeof reply !== "object" || reply === null) throw new Error(`the REST service answered ${response.statusCode} with JSON that is not a reply`);
    return { status: response.statusCode, reply };
  }

  return {
    kind: "rest",
    async send(command) {
      const body = JSON.stringify(command);
      let answer: { status: number; reply: Reply };
      try {
        try {
          answer = await post(body);
        } catch (error) {
          // No answer in time is final; a connection that failed (refused, or reset while idle)
          // gets one more try on a new one.
          if (isTimeout(error)) throw error;
          await new Promise((resolve) => setTimeout(resolve, RETRY_AFTER_MS));
          answer = await post(body);
        }
      } catch (error) {
        throw new StoreUnavailableError("redis", { cause: error });
      }
      const { status, reply } = answer;
      if (typeof reply.error === "string") {
        // The same split as ./rest: Redis answering the command, or the service (or a quota) failing.
        if (isRedisReply(reply.error)) throw new RedisReplyError(reply.error);
        throw new StoreUnavailableError("redis", { cause: new Error(`the REST service answered ${status}: ${reply.error}`) });
      }
      if (status < 200 || status > 299 || !("result" in reply)) {
        throw new StoreUnavailableError("redis", { cause: new Error(`the REST service answered ${status} without a result`) });
      }
      return reply.result;
    },
    async close() {
      await pool.close();
    },
  };
}
