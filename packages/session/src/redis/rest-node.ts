import DataLoader from "dataloader";
import { Pool } from "undici";
import { consoleLogger, throttledWarn, type Logger } from "../logger.js";
import { StoreUnavailableError } from "../store.js";
import { isRedisReply, REDIS_COMMAND_TIMEOUT_MS, resendingOnce, type RedisTransport } from "./transport.js";

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
 *
 * Commands sent in the same turn of the event loop (by concurrent requests, say) go together in
 * one POST to Upstash's `/pipeline`, which runs them in order, not atomically, and answers each
 * on its own: one request and one reply to parse instead of several, on both sides. A command
 * alone goes by itself, as before; each caller still gets its own reply or its own error.
 */

/** An error reply from Redis (a wrong command or type), as opposed to the store being unavailable. */
export class RedisReplyError extends Error {
  override name = "RedisReplyError";
}

export interface NodeRestTransportOptions {
  /** Connections kept open to the REST service, at most; further commands wait for one. Default 32. */
  connections?: number;
  /** How long one attempt at a request (a command, or a pipeline of them) may take, waiting for a connection included (a failed one may go once more: see `mayResend`). Default 3 s. */
  timeoutMs?: number;
  /** At most this many commands go in one pipelined request; 1 sends every command alone. Default 32. */
  pipeline?: number;
  /** Where a service that cannot be reached, or refuses the token, is reported, at most once every 10 s. */
  logger?: Logger;
}

interface Reply {
  result?: unknown;
  error?: unknown;
}

export function nodeRestTransport(url: string, token: string, options: NodeRestTransportOptions = {}): RedisTransport {
  const base = new URL(url);
  if (base.protocol !== "https:" && base.protocol !== "http:") throw new Error("nodeRestTransport: the REST URL must be http(s)");
  const root = base.pathname.replace(/\/+$/, "");
  const path = root || "/";
  const pipelinePath = `${root}/pipeline`;
  const maxBatch = options.pipeline ?? 32;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new Error("nodeRestTransport: pipeline must be a whole number of at least 1");
  const timeoutMs = options.timeoutMs ?? REDIS_COMMAND_TIMEOUT_MS;
  const pool = new Pool(base.origin, { connections: options.connections ?? 32 });
  let syncToken = "";
  const warn = throttledWarn(options.logger ?? consoleLogger());
  /** The store is unavailable: said in the log (one line every 10 s is enough), thrown or returned to the caller. */
  function unavailable(cause: Error): StoreUnavailableError {
    const refused = /^the REST service answered (a pipeline )?(401|403)\b/.test(cause.message);
    warn(`redis (rest): ${cause.message.slice(0, 300)}${refused ? " (is the REST token this database's?)" : ""}`);
    return new StoreUnavailableError("redis", { cause });
  }

  async function post(route: string, body: string): Promise<{ status: number; reply: unknown }> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    if (syncToken) headers["upstash-sync-token"] = syncToken;
    const response = await pool.request({ path: route, method: "POST", headers, body, signal: AbortSignal.timeout(timeoutMs) });
    const text = await response.body.text();
    const next = response.headers["upstash-sync-token"];
    if (typeof next === "string" && next) syncToken = next;
    let reply: unknown;
    try {
      reply = JSON.parse(text);
    } catch {
      throw new Error(`the REST service answered ${response.statusCode} with a body that is not JSON`);
    }
    if (typeof reply !== "object" || reply === null) throw new Error(`the REST service answered ${response.statusCode} with JSON that is not a reply`);
    return { status: response.statusCode, reply };
  }

  /**
   * One POST (a command alone, or a pipeline of them), sent once more on a new connection when
   * the first failed and the commands may go twice (`resendingOnce`). Unreachable:
   * StoreUnavailableError.
   */
  async function exchange(commands: readonly string[][]): Promise<{ status: number; reply: unknown }> {
    const [route, body] = commands.length === 1 ? [path, JSON.stringify(commands[0])] : [pipelinePath, JSON.stringify(commands)];
    try {
      return await resendingOnce(commands, () => post(route, body));
    } catch (error) {
      // What the service answered (a body that is no reply) says so already; anything else is the way there.
      const answered = error instanceof Error && error.message.startsWith("the REST service answered");
      throw unavailable(answered ? error : new Error(`the REST service could not be reached: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
    }
  }

  /**
   * One command's outcome, as the service answered it alone or inside a pipeline: its result, or
   * the Error its caller gets (returned, not thrown: DataLoader rejects that caller alone with it).
   */
  function outcome(status: number, answer: unknown): unknown {
    const reply: Reply = typeof answer === "object" && answer !== null && !Array.isArray(answer) ? answer : {};
    if (typeof reply.error === "string") {
      // The same split as ./rest: Redis answering the command, or the service (or a quota) failing.
      if (isRedisReply(reply.error)) return new RedisReplyError(reply.error);
      return unavailable(new Error(`the REST service answered ${status}: ${reply.error}`));
    }
    if (status < 200 || status > 299 || !("result" in reply)) {
      return unavailable(new Error(`the REST service answered ${status} without a result`));
    }
    return reply.result;
  }

  // DataLoader gathers what is sent until the event loop's next turn (setImmediate: after every
  // request whose data arrived in this one has run), at most `maxBatch` commands a batch; no
  // cache, so every command goes out. A failed exchange rejects every caller in the batch.
  const batches = new DataLoader<string[], unknown>(
    async (commands) => {
      if (commands.length === 1) {
        const { status, reply } = await exchange(commands);
        return [outcome(status, reply)];
      }
      const { status, reply } = await exchange(commands);
      // A pipeline answers each command in order. Any other answer (a wrong token, a quota, a
      // reply of another length) is the service failing, whatever its words: every command in
      // the batch is unavailable, none of them wrong.
      if (!Array.isArray(reply) || reply.length !== commands.length) {
        const why = typeof (reply as Reply).error === "string" ? `: ${String((reply as Reply).error)}` : " without one answer per command";
        throw unavailable(new Error(`the REST service answered a pipeline ${status}${why}`));
      }
      return reply.map((answer) => outcome(status, answer));
    },
    { cache: false, maxBatchSize: maxBatch, batchScheduleFn: (dispatch) => setImmediate(dispatch) },
  );

  return {
    kind: "rest",
    send(command) {
      return batches.load(command);
    },
    async close() {
      // What was sent before closing still goes (its batch is dispatched first); the pool closes
      // once those are answered.
      await new Promise((resolve) => setImmediate(resolve));
      await pool.close();
    },
  };
}
