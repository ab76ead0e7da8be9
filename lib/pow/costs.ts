/** The proof of work's counter ranges by level (the reasoning is in pow.ts), apart so that the configuration can check against them. */
export const POW_MAX_NUMBER = {
  normal: 2_000_000,
  /** Four times the work, for those who cannot read the captcha image; the policy is the caller's. */
  accessible: 8_000_000,
  /** CAPTCHA_TEST_MODE: still required, at a cost no test notices. */
  test: 1_000,
} as const;
