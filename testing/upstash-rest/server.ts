/**
 * Local Upstash-compatible REST server over a plain Redis.
 *
 * DEVELOPMENT / TEST TOOL ONLY — NOT FOR PRODUCTION. It exists so `@upstash/redis` can talk to a
 * local Redis in dev and tests. It speaks the subset of the Upstash REST protocol that client uses
 * on its default settings: `POST /`, `POST /pipeline`, `POST /multi-exec`, bearer-token auth and
 * `Upstash-Encoding: base64` responses.
 *
 * All requests share one Redis connection, so a blocking command (BLPOP 0, XREAD BLOCK, ...)
 * stalls every other request until it returns.
 *
 * CLI: `tsx testing/upstash-rest/server.ts`, configured by REDIS_URL (default
 * redis://127.0.0.1:6379), UPSTASH_REST_PORT (default 8079) and UPSTASH_REST_TOKEN (default
 * "holdfast-dev-token").
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { createClient, ErrorReply, MultiErrorReply } from "redis";

export interface UpstashRestServerOptions {
  redisUrl: string;
  token: string;
  /** 0 picks a free port. Defaults to 0. */
  port?: number;
  host?: string;
}

export interface UpstashRestServer {
  url: string;
  token: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

// These change the state of the one shared connection, so they would leak into (or break)
// every other request rather than just the caller's.
const UNSUPPORTED_COMMANDS = new Set([
  "AUTH", "CLIENT", "DISCARD", "EXEC", "HELLO", "MONITOR", "MULTI", "PSUBSCRIBE", "PUNSUBSCRIBE",
  "QUIT", "RESET", "SELECT", "SSUBSCRIBE", "SUBSCRIBE", "SUNSUBSCRIBE", "UNSUBSCRIBE", "UNWATCH",
  "WATCH",
]);

type Command = string[];
type Outcome = { result: unknown } | { error: string };

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startUpstashRestServer(options: UpstashRestServerOptions): Promise<UpstashRestServer> {
  const { redisUrl, token, port = 0, host = "127.0.0.1" } = options;
  if (!token) throw new Error("startUpstashRestServer: token must not be empty");

  // RESP2 because Upstash returns RESP2 shapes (flat arrays, no maps); node-redis defaults to RESP3.
  const redis = createClient({ url: redisUrl, RESP: 2 });
  // node-redis would retry an unreachable Redis forever; at startup, failing fast is more useful.
  await new Promise<void>((resolve, reject) => {
    const fail = (err: unknown) => {
      redis.destroy();
      reject(err);
    };
    redis.once("error", fail);
    redis.connect().then(() => {
      redis.off("error", fail);
      resolve();
    }, fail);
  });
  // Without a listener a dropped connection would crash the process; node-redis reconnects by itself.
  redis.on("error", (err: unknown) => console.error("[upstash-rest] redis error:", err));

  // Compare digests so the comparison is constant-time regardless of header length.
  const digest = (value: string) => createHash("sha256").update(value).digest();
  const expectedAuth = digest(`Bearer ${token}`);
  const isAuthorized = (header: string | undefined) => timingSafeEqual(digest(header ?? ""), expectedAuth);

  // Issued in one tick, node-redis writes these back-to-back on its connection, in order.
  const runPipeline = (commands: Command[]): Promise<Outcome[]> =>
    Promise.all(
      commands.map((command) =>
        redis.sendCommand(command).then(
          (result): Outcome => ({ result }),
          (err: unknown): Outcome => ({ error: errorMessage(err) }),
        ),
      ),
    );

  const runMultiExec = async (commands: Command[]): Promise<Outcome[]> => {
    const multi = redis.multi();
    for (const command of commands) multi.addCommand(command);
    try {
      const replies: unknown[] = await multi.exec();
      return replies.map((result) => ({ result }));
    } catch (err) {
      // Runtime errors inside EXEC fail only their own command, as in Redis; anything else
      // (e.g. EXECABORT from a command rejected while queueing) fails the whole transaction.
      if (!(err instanceof MultiErrorReply)) throw err;
      return err.replies.map((reply) => (reply instanceof ErrorReply ? { error: reply.message } : { result: reply }));
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!isAuthorized(req.headers.authorization)) throw new HttpError(401, "Unauthorized");
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/" && path !== "/pipeline" && path !== "/multi-exec") throw new HttpError(404, "Not Found");
    if (req.method !== "POST") throw new HttpError(405, "Method Not Allowed");

    const body = parseJson(await readBody(req));
    const base64 = String(req.headers["upstash-encoding"]).toLowerCase() === "base64";

    if (path === "/") {
      const result = await redis.sendCommand(parseCommand(body));
      return sendJson(res, 200, { result: encode(result, base64) });
    }

    const commands = parseCommandList(body);
    const outcomes = await (path === "/pipeline" ? runPipeline(commands) : runMultiExec(commands));
    sendJson(
      res,
      200,
      outcomes.map((outcome) => ("error" in outcome ? outcome : { result: encode(outcome.result, base64) })),
    );
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // A Redis error reply is the caller's fault (bad command, wrong type, EXECABORT...);
      // anything else means Redis could not be reached.
      const status = err instanceof HttpError ? err.status : err instanceof ErrorReply ? 400 : 503;
      if (status === 503) console.error("[upstash-rest] request failed:", errorMessage(err));
      if (res.headersSent) return void res.destroy();
      // 413 leaves unread body on the socket, so the connection cannot be reused.
      sendJson(res, status, { error: errorMessage(err) }, status === 413 ? { Connection: "close" } : {});
    });
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    await redis.close();
    throw err;
  }

  const { port: boundPort } = server.address() as AddressInfo;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${boundPort}`,
    token,
    async close() {
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
      if (redis.isOpen) await redis.close();
      else redis.destroy();
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  if (Number(req.headers["content-length"]) > MAX_BODY_BYTES) {
    req.resume();
    return Promise.reject(new HttpError(413, "Request body too large"));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) return void chunks.push(chunk);
      // Keep draining rather than destroying the socket, so the 413 response can still be read.
      req.off("data", onData);
      req.resume();
      reject(new HttpError(413, "Request body too large"));
    };
    req.on("data", onData);
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "ERR failed to parse request body as JSON");
  }
}

function parseCommand(value: unknown): Command {
  if (!Array.isArray(value) || value.length === 0) {
    throw new HttpError(400, "ERR command must be a non-empty JSON array");
  }
  const command = value.map((arg: unknown) => {
    if (typeof arg === "string") return arg;
    // The client sends numeric options (EX 10, numkeys, ...) as JSON numbers; Redis wants strings.
    if (typeof arg === "number" || typeof arg === "boolean") return String(arg);
    throw new HttpError(400, "ERR command arguments must be strings, numbers or booleans");
  });
  const name = command[0]!.toUpperCase();
  if (UNSUPPORTED_COMMANDS.has(name)) throw new HttpError(400, `ERR command '${name}' is not supported by this server`);
  return command;
}

function parseCommandList(value: unknown): Command[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new HttpError(400, "ERR request body must be a non-empty JSON array of commands");
  }
  return value.map(parseCommand);
}

// Upstash base64-encodes every string (the client decodes them back); numbers and nulls pass through.
function encode(value: unknown, base64: boolean): unknown {
  if (typeof value === "string") return base64 ? Buffer.from(value, "utf8").toString("base64") : value;
  if (Array.isArray(value)) return value.map((item) => encode(item, base64));
  return value;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(json),
    ...headers,
  });
  res.end(json);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = await startUpstashRestServer({
    redisUrl: process.env.REDIS_URL || "redis://127.0.0.1:6379",
    port: Number(process.env.UPSTASH_REST_PORT || 8079),
    token: process.env.UPSTASH_REST_TOKEN || "holdfast-dev-token",
  });
  console.log(`Upstash REST dev server listening (development only, not for production)`);
  console.log(`UPSTASH_REDIS_REST_URL=${server.url}`);
  console.log(`UPSTASH_REDIS_REST_TOKEN=${server.token}`);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => void server.close().finally(() => process.exit(0)));
  }
}
