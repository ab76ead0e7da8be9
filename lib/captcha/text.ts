import { randomInt } from "node:crypto";

/** Upper-case letters and digits that no font confuses with another (no 0/O, 1/I/L, 2/Z, 5/S, 8/B, 6/G, U/V, Q). */
export const CAPTCHA_ALPHABET = "ACDEFHJKMNPRTWXY34679";
export const CAPTCHA_LENGTH = 5;

/** A captcha answer drawn from node:crypto; svg-captcha's own text uses Math.random. */
export function captchaText(length = CAPTCHA_LENGTH): string {
  let text = "";
  for (let i = 0; i < length; i++) text += CAPTCHA_ALPHABET[randomInt(CAPTCHA_ALPHABET.length)];
  return text;
}

/** How an answer is compared: case and surrounding spaces do not matter. */
export function normalizeAnswer(answer: string): string {
  return answer.trim().toUpperCase();
}
