import { renderCaptcha } from "./render";
import { captchaText } from "./text";

/** A captcha's answer and its picture; the answer exists only in the server's memory. */
export interface DrawnCaptcha {
  answer: string;
  svg: string;
}

/** Draws a new captcha: the text from node:crypto, the picture from the renderer. */
export function drawCaptcha(): DrawnCaptcha {
  const answer = captchaText();
  return { answer, svg: renderCaptcha(answer) };
}

