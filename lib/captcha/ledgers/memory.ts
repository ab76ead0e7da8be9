import type { CaptchaLedger, PendingCaptcha } from "../ledger";

/** Records in this process's memory: beside the memory session store, one process by definition. */
export function memoryLedger(): CaptchaLedger {
  const records = new Map<string, PendingCaptcha>();
  return {
    async put(id, captcha) {
      records.set(id, captcha);
    },
    async take(id) {
      const captcha = records.get(id) ?? null;
      records.delete(id);
      return captcha;
    },
  };
}
