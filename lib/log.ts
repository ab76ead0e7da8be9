import type { Logger } from "@holdfast/session";

/** The app's log lines: prefixed, and never carrying a token, a password, an answer or an address. */
export const log: Logger = {
  warn: (message) => console.warn(`[holdfast] ${message}`),
  error: (message) => console.error(`[holdfast] ${message}`),
};
