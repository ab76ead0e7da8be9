/** The Redis transport seam, for stores and for an app's own Redis data (limits, ledgers): no driver here. */
export { luaScript, REDIS_COMMAND_TIMEOUT_MS, withTimeout, type RedisTransport } from "./transport.js";
