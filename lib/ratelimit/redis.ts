import { luaScript, type RedisTransport } from "@holdfast/session/redis";
import type { RateLimiter } from "./limiter";

// GCRA in one atomic step, on Redis's own clock so instances with skewed clocks agree.
const GCRA = luaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local nxt = tat + interval
if nxt - now > period then return math.ceil(nxt - period - now) end
redis.call('SET', KEYS[1], tostring(nxt), 'PX', math.ceil(nxt - now))
return -1`);

export function redisLimiter(transport: RedisTransport, prefix: string): RateLimiter {
  return {
    async hit(key, rule) {
      const reply = Number(await GCRA(transport, [`${prefix}:rl:${key}`], [String(rule.periodMs / rule.limit), String(rule.periodMs)]));
      return reply < 0 ? { ok: true } : { ok: false, retryAfterMs: reply };
    },
  };
}
