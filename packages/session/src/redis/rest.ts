import { Redis, errors } from "@upstash/redis";
import { StoreUnavailableError } from "../store.js";
import { isRedisReply, REDIS_COMMAND_TIMEOUT_MS, resendingOnce, type RedisTransport } from "./transport.js";

/**
 * @upstash/redis over HTTPS: no connection to keep, so it suits serverless and edge runtimes.
 * One endpoint serves every key, so a `routeKey` changes nothing. The redis store refuses
 * `waitForReplicas` over it: Redis's WAIT counts the writes of one connection, and here every
 * command is a request of its own.
 */
export function restTransport(url: string, token: string): RedisTransport {
  const redis = new Redis({
    url,
    token,
    // The store parses its own values; raw replies keep both transports alike.
    automaticDeserialization: false,
    enableAutoPipelining: false,
    // Its own retry would send any command again; `resendingOnce` sends only what may go twice.
    retry: { retries: 0 },
    signal: () => AbortSignal.timeout(REDIS_COMMAND_TIMEOUT_MS),
  });
  return {
    kind: "rest",
    async send(command) {
      try {
        // An error the service answered is final.
        return await resendingOnce([command], () => redis.exec(command as [string, ...string[]]), (error) => error instanceof errors.UpstashError);
      } catch (error) {
        // A Redis error reply is Redis answering; anything else (no answer in time, a quota
        // reached, or the REST service failing to reach its Redis) means the store is unavailable.
        if (error instanceof errors.UpstashError && isRedisReply(error.message)) throw error;
        throw new StoreUnavailableError("redis", { cause: error });
      }
    },
    async close() {},
  };
}
