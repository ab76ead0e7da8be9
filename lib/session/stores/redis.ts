import type { CaptchaLedger, SessionRecord, SessionStore } from "../store";
import { hashToken, newToken } from "../token";
import { luaScript, type RedisTransport } from "./redis-transport";

/**
 * Sessions in Redis, over either transport. Keys are `<prefix>:sess:<sha256(token)>` and expire
 * with the session. Every operation is one command (a script where two keys must change
 * together), so a read-only request costs one round trip and a write one more.
 */

// Create never overwrites (NX) and update never resurrects (XX); both index the session under its
// user. A rotation also deletes the old session (ARGV[5]) in the same atomic step.
const WRITE = luaScript(`
if ARGV[5] ~= '' then redis.call('DEL', ARGV[5]) end
if redis.call('SET', KEYS[1], ARGV[1], ARGV[4], 'PX', ARGV[2]) then
  if #KEYS > 1 then
    redis.call('SADD', KEYS[2], ARGV[3])
    if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
  end
  return 1
end
return 0`);

// Index entries of sessions that already expired are harmless: DEL of a missing key counts 0.
const REVOKE = luaScript(`
local n = 0
for _, h in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if h ~= ARGV[2] then
    n = n + redis.call('DEL', ARGV[1] .. h)
    redis.call('SREM', KEYS[1], h)
  end
end
return n`);

export interface RedisStore extends SessionStore {
  captchas: CaptchaLedger;
  transport: RedisTransport;
  /**
   * Writes a record under a token issued elsewhere, never overwriting (NX); false when the key
   * exists. For a store layered on this one, whose tokens come from its own backend. The TTL is
   * `expiresAt - record.lastActiveAt`, as for `create`.
   */
  put(token: string, record: SessionRecord, expiresAt: number): Promise<boolean>;
}

export function createRedisStore(transport: RedisTransport, prefix: string): RedisStore {
  const sessionKey = (hash: string) => `${prefix}:sess:${hash}`;
  const userKey = (userId: string) => `${prefix}:user:${userId}:sessions`;

  async function write(token: string, record: SessionRecord, expiresAt: number, mode: "NX" | "XX", replacing = ""): Promise<boolean> {
    const hash = hashToken(token);
    // Milliseconds left, measured on the record's own clock so an injected clock works too.
    const ttl = String(Math.max(1, expiresAt - record.lastActiveAt));
    const keys = record.userId ? [sessionKey(hash), userKey(record.userId)] : [sessionKey(hash)];
    const old = replacing && sessionKey(hashToken(replacing));
    return Number(await WRITE(transport, keys, [JSON.stringify(record), ttl, hash, mode, old])) === 1;
  }

  return {
    name: "redis",
    revocable: true,
    shared: true,
    transport,
    async create(record, expiresAt) {
      const token = newToken();
      if (!(await write(token, record, expiresAt, "NX"))) throw new Error("holdfast/redis-store: a new session token collided");
      return token;
    },
    async read(token) {
      const raw = await transport.send(["GET", sessionKey(hashToken(token))]);
      return typeof raw === "string" ? parseRecord(raw) : null;
    },
    async update(token, record, expiresAt) {
      return (await write(token, record, expiresAt, "XX")) ? token : null;
    },
    async rotate(oldToken, record, expiresAt) {
      const token = newToken();
      if (!(await write(token, record, expiresAt, "NX", oldToken))) throw new Error("holdfast/redis-store: a new session token collided");
      return token;
    },
    put: (token, record, expiresAt) => write(token, record, expiresAt, "NX"),
    async delete(token) {
      await transport.send(["DEL", sessionKey(hashToken(token))]);
    },
    async revokeUser(userId, except) {
      const keep = except === undefined ? "" : hashToken(except);
      return Number(await REVOKE(transport, [userKey(userId)], [`${prefix}:sess:`, keep]));
    },
    async ping() {
      await transport.send(["PING"]);
    },
    captchas: {
      async put(id, captcha, ttlMs) {
        await transport.send(["SET", `${prefix}:captcha:${id}`, `${captcha.answerHash}:${captcha.expiresAt}`, "PX", String(ttlMs + 60_000)]);
      },
      async take(id) {
        // GETDEL is atomic: of concurrent takes of one id, exactly one gets the value.
        const raw = await transport.send(["GETDEL", `${prefix}:captcha:${id}`]);
        if (typeof raw !== "string") return null;
        const [answerHash, expiresAt] = raw.split(":");
        return { answerHash: answerHash!, expiresAt: Number(expiresAt) };
      },
    },
  };
}

function parseRecord(raw: string): SessionRecord | null {
  try {
    const value = JSON.parse(raw) as SessionRecord;
    return typeof value.createdAt === "number" && typeof value.lastActiveAt === "number" && typeof value.data === "object" ? value : null;
  } catch {
    return null;
  }
}
