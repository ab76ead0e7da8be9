import type { StoreCall } from "@holdfast/session/testing";
import type { CaptchaLedger } from "../lib/captcha/ledger";

/** A store call or a ledger call: together, every round trip a request makes for its session and its single-use records. */
export type RoundTrip = StoreCall | "captcha.put" | "captcha.take";

/** Counts a captcha ledger's calls into a store counter's list, so a request's every round trip is seen in order. */
export function countingLedger(ledger: CaptchaLedger, calls: RoundTrip[]): CaptchaLedger {
  return {
    put(...args) {
      calls.push("captcha.put");
      return ledger.put(...args);
    },
    take(id) {
      calls.push("captcha.take");
      return ledger.take(id);
    },
  };
}
