import { createClient, ErrorReply } from "redis";
import { consoleLogger, type Logger } from "../logger.js";
import { StoreUnavailableError } from "../store.js";
import { REDIS_COMMAND_TIMEOUT_MS, withTimeout, type RedisTransport } from "./transport.js";

export interface TcpTransportOptions {
  /** Where "Redis is unreachable" is reported, at most once every 10 s. */
  logger?: Logger;
}

/** The `redis` package over a redis:// URL: one connection per process, reused by every request. */
export function tcpTransport(url: string, options: TcpTransportOptions = {}): RedisTransport {
  const logger = options.logger ?? consoleLogger();
  const client = createClient({
    url,
    // RESP2 gives the same reply shapes as Upstash's REST API.
    RESP: 2,
    // Without a connection a command fails at once instead of queueing until Redis returns.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: REDIS_COMMAND_TIMEOUT_MS,
      reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 2_000),
    },
  });
  let lastLogged = 0;
  client.on("error", (error: Error) => {
    // The client retries by itself; one line every 10 s is enough to say Redis is away.
    if (Date.now() - lastLogged > 10_000) {
      lastLogged = Date.now();
      logger.warn(`redis (tcp): ${error.message}`);
    }
  });
  let connecting: Promise<unknown> | undefined;

  return {
    kind: "tcp",
    async send(command) {
      try {
        connecting ??= client.connect();
        await withTimeout(connecting, REDIS_COMMAND_TIMEOUT_MS, "redis connect");
        return await withTimeout(client.sendCommand(command), REDIS_COMMAND_TIMEOUT_MS, "redis command");
      } catch (error) {
        // An error reply is Redis answering; anything else means it could not be reached in time.
        if (error instanceof ErrorReply) throw error;
        throw new StoreUnavailableError("redis", { cause: error });
      }
    },
    async close() {
      if (client.isOpen) await client.close();
      else client.destroy();
    },
  };
}
