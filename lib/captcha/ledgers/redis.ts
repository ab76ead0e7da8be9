import type { RedisTransport } from "@holdfast/session/redis";
import type { CaptchaLedger } from "../ledger";

/** Records in Redis, one key each (`<prefix>:captcha:<id>`), expiring a minute after the record does. */
export function redisLedger(transport: RedisTransport, prefix: string): CaptchaLedger {
  const key = (id: string) => `${prefix}:captcha:${id}`;
  return {
    async put(id, captcha, ttlMs) {
      await transport.send(["SET", key(id), `${captcha.answerHash}:${captcha.expiresAt}`, "PX", String(ttlMs + 60_000)]);
    },
    async take(id) {
      // GETDEL is atomic: of concurrent takes of one id, exactly one gets the value.
      const raw = await transport.send(["GETDEL", key(id)]);
      if (typeof raw !== "string") return null;
      const [answerHash, expiresAt] = raw.split(":");
      return { answerHash: answerHash!, expiresAt: Number(expiresAt) };
    },
  };
}
