/**
 * Server-side single-use records: pending captchas, passes and proof-of-work challenges. The
 * session holds only a reference to one; the record lives here, so a replayed cookie finds
 * nothing to take twice.
 */

export interface PendingCaptcha {
  answerHash: string;
  expiresAt: number;
}

/**
 * What a take finds where a record was taken before: a tombstone, kept as long as the record
 * would have been. It tells a record that was used (a replayed cookie, a double submit) from one
 * the ledger no longer holds though nothing used it (Redis evicting it, an instance pointed at
 * another ledger), which `take` answers with null.
 */
export const SPENT = "spent";

/** `take` is atomic: of any number of concurrent calls for one id, exactly one receives the record; the others find SPENT. */
export interface CaptchaLedger {
  /** Stores a record for `ttlMs`; after that it may vanish on its own. */
  put(id: string, captcha: PendingCaptcha, ttlMs: number): Promise<void>;
  take(id: string): Promise<PendingCaptcha | typeof SPENT | null>;
}
