import type { RedisTransport } from "@holdfast/session/redis";
import { SPENT, type CaptchaLedger } from "../ledger";

const TOMBSTONE = "-";

/** Records in Redis, one key each (`<prefix>:captcha:<id>`), expiring a minute after the record does. */
export function redisLedger(transport: RedisTransport, prefix: string): CaptchaLedger {
  const key = (id: string) => `${prefix}:captcha:${id}`;
  return {
    async put(id, captcha, ttlMs) {
      await transport.send(["SET", key(id), `${captcha.answerHash}:${captcha.expiresAt}`, "PX", String(ttlMs + 60_000)]);
    },
    async take(id) {
      // One command, so atomic: of concurrent takes of one id, exactly one gets the value; the
      // key keeps its expiry with a tombstone in place of the answer (see SPENT).
      const raw = await transport.send(["SET", key(id), TOMBSTONE, "XX", "KEEPTTL", "GET"]);
      if (typeof raw !== "string") return null;
      if (raw === TOMBSTONE) return SPENT;
      const [answerHash, expiresAt] = raw.split(":");
      return { answerHash: answerHash!, expiresAt: Number(expiresAt) };
    },
  };
}
