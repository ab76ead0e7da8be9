import { randomInt } from "node:crypto";

/**
 * Upper-case letters and a digit that stay distinct in svg-captcha's font once rotated and
 * warped. Besides the usual look-alikes (0/O, 1/I/L, 2/Z, 5/S, 8/B, 6/G, U/V, Q), readers of
 * earlier versions confused A/4/N, J/T/7, E/F, M/N/H, X/K/R, D/O/P, and a rotated 9 reads as P:
 * 4, 6, 7, 9, D, F, J, K and N are left out. 12^5 ≈ 249,000 answers.
 */
export const CAPTCHA_ALPHABET = "ACEHMPRTWXY3";
export const CAPTCHA_LENGTH = 5;

/** A captcha answer drawn from node:crypto; svg-captcha's own text uses Math.random. */
export function captchaText(length = CAPTCHA_LENGTH): string {
  let text = "";
  for (let i = 0; i < length; i++) text += CAPTCHA_ALPHABET[randomInt(CAPTCHA_ALPHABET.length)];
  return text;
}

/**
 * How an answer is compared: case and spaces do not matter, between the characters too (the
 * image spaces them apart, and a person may type what they see). The alphabet has no space.
 */
export function normalizeAnswer(answer: string): string {
  return answer.replace(/\s+/gu, "").toUpperCase();
}
