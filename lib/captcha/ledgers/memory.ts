import { SPENT, type CaptchaLedger, type PendingCaptcha } from "../ledger";

export interface MemoryLedger extends CaptchaLedger {
  /** Drops a record as if it had never been kept: what an evicting ledger does (tests). */
  evict(id: string): void;
}

/** Records in this process's memory: beside the memory session store, one process by definition. */
export function memoryLedger(): MemoryLedger {
  const records = new Map<string, { record: PendingCaptcha | typeof SPENT; until: number }>();
  let lastSweep = Date.now();
  return {
    async put(id, captcha, ttlMs) {
      const now = Date.now();
      records.set(id, { record: captcha, until: now + ttlMs });
      if (now - lastSweep < 60_000) return;
      lastSweep = now;
      for (const [key, { until }] of records) if (until <= now) records.delete(key);
    },
    async take(id) {
      const kept = records.get(id);
      if (!kept || kept.until <= Date.now()) return null;
      records.set(id, { record: SPENT, until: kept.until });
      return kept.record;
    },
    evict(id) {
      records.delete(id);
    },
  };
}
