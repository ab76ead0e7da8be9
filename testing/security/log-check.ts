import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

/** Secrets shorter than this (a 1-character password sent by a fuzz case) would match anything. */
const MIN_SECRET = 5;
/** Below this length a secret must stand alone (a captcha answer such as "CAPTC" inside "CAPTCHA" is no leak). */
const WORD_BELOW = 12;
/** A log line may cut a long value: its first characters are a leak too. */
const PREFIX = 32;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Which secrets (passwords, session cookie values, captcha answers) appear in which log files,
 * as "<first 6 characters>… (<length> chars) in <file>". Never prints a whole secret.
 */
export function findLeaks(logFiles: string[], secrets: string[]): string[] {
  const logs = logFiles.filter((f) => existsSync(f)).map((f) => [path.relative(process.cwd(), f), readFileSync(f, "utf8")] as const);
  const leaks: string[] = [];
  for (const secret of new Set(secrets)) {
    if (secret.length < MIN_SECRET) continue;
    const needles = secret.length >= 2 * PREFIX ? [secret, secret.slice(0, PREFIX)] : [secret];
    for (const [file, text] of logs) {
      const found = needles.some((needle) =>
        needle.length < WORD_BELOW ? new RegExp(`(?<![A-Za-z0-9])${escape(needle)}(?![A-Za-z0-9])`).test(text) : text.includes(needle),
      );
      if (found) leaks.push(`${secret.slice(0, 6)}… (${secret.length} chars) in ${file}`);
    }
  }
  return leaks;
}

/**
 * Lines of the server logs that report an error with a stack trace (`    at …`, or Next's
 * "at ignore-listed frames"): a hostile request must never make the server log one, or any client
 * could fill the log. Each as "<file>: <the error's first line>", once per distinct line.
 */
export function findStackTraces(logFiles: string[]): string[] {
  const found = new Set<string>();
  for (const file of logFiles.filter((f) => existsSync(f))) {
    const lines = readFileSync(file, "utf8").split("\n");
    lines.forEach((line, i) => {
      if (!/^\s+at \S/.test(line)) return;
      let start = i;
      while (start > 0 && /^\s+at \S|^Read more:/.test(lines[start - 1]!)) start--;
      found.add(`${path.relative(process.cwd(), file)}: ${(lines[start - 1] ?? line).slice(0, 200)}`);
    });
  }
  return [...found];
}
