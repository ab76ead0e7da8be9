import { Redis, errors } from "@upstash/redis";
import { StoreUnavailableError } from "../store";
import { REDIS_COMMAND_TIMEOUT_MS, type RedisTransport } from "./redis-transport";

/** @upstash/redis over HTTPS: no connection to keep, so it suits serverless and edge runtimes. */
export function restTransport(url: string, token: string): RedisTransport {
  const redis = new Redis({
    url,
    token,
    // The store parses its own values; raw replies keep both transports alike.
    automaticDeserialization: false,
    enableAutoPipelining: false,
    retry: { retries: 1, backoff: () => 50 },
    signal: () => AbortSignal.timeout(REDIS_COMMAND_TIMEOUT_MS),
  });
  return {
    kind: "rest",
    async send(command) {
      try {
        return await redis.exec(command as [string, ...string[]]);
      } catch (error) {
        // An UpstashError is the server answering; anything else means it could not be reached in time.
        if (error instanceof errors.UpstashError) throw error;
        throw new StoreUnavailableError("redis", { cause: error });
      }
    },
    async close() {},
  };
}
