/**
 * Server-side single-use records: pending captchas, passes and proof-of-work challenges. The
 * session holds only a reference to one; the record lives here, so a replayed cookie finds
 * nothing to take twice.
 */

export interface PendingCaptcha {
  answerHash: string;
  expiresAt: number;
}

/** `take` is atomic: of any number of concurrent calls for one id, exactly one receives the record. */
export interface CaptchaLedger {
  /** Stores a record for `ttlMs`; after that it may vanish on its own. */
  put(id: string, captcha: PendingCaptcha, ttlMs: number): Promise<void>;
  take(id: string): Promise<PendingCaptcha | null>;
}
