/**
 * The failed tests of the suite's reports, each named with the first lines of its error. The test
 * runner prints them again at the end of its output, where a log cut to its tail still shows them.
 */
import { stripVTControlCharacters } from "node:util";

/** An error's first three non-empty lines on one line, without terminal colours, at most 400 characters. */
export function firstLines(text: string): string {
  return stripVTControlCharacters(text)
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, 3)
    .join(" / ")
    .slice(0, 400);
}

/**
 * The failed tests of a node:test TAP report, each with its error's first lines. A suite that
 * failed because of its tests is left out (its tests are listed); a failed hook is kept.
 */
export function tapFailures(tap: string): string[] {
  const lines = tap.split("\n");
  const found: string[] = [];
  for (const [i, line] of lines.entries()) {
    const head = /^(\s*)not ok \d+ - (.*)$/.exec(line);
    if (!head) continue;
    const indent = head[1]!.length + 2;
    const block: string[] = [];
    for (const next of lines.slice(i + 1)) {
      if (next.trim() === "...") break;
      block.push(next.slice(indent));
    }
    // A suite that failed through its tests, and a test cancelled because its suite's hook failed:
    // the tests, and the suite with the hook's error, are listed instead.
    if (block.some((l) => /^failureType: '?(subtestsFailed|cancelledByParent)'?$/.test(l))) continue;
    const at = block.findIndex((l) => l.startsWith("error:"));
    let error = "";
    if (at !== -1) {
      const inline = block[at]!.slice("error:".length).trim();
      if (/^[|>]-?$/.test(inline)) {
        // A block scalar: the lines after it, up to the next key.
        const end = block.findIndex((l, j) => j > at && /^\S/.test(l));
        error = block.slice(at + 1, end === -1 ? undefined : end).join("\n");
      } else error = inline.replace(/^'(.*)'$/, "$1");
    }
    found.push(`${head[2]}${error ? ` — ${firstLines(error)}` : ""}`);
  }
  return found;
}

interface PlaywrightSuite {
  title: string;
  specs?: { title: string; tests: { results: { status: string; error?: { message?: string } }[] }[] }[];
  suites?: PlaywrightSuite[];
}

/**
 * The tests of a Playwright JSON report whose last try did not pass (a skipped test counts: none
 * is skipped in CI), each with that try's error's first lines.
 */
export function playwrightFailures(report: { suites?: PlaywrightSuite[] } | undefined): string[] {
  const found: string[] = [];
  const walk = (suite: PlaywrightSuite) => {
    for (const spec of suite.specs ?? []) {
      for (const test of spec.tests) {
        const last = test.results.at(-1);
        if (last && last.status !== "passed") found.push(`${spec.title} (${last.status})${last.error?.message ? ` — ${firstLines(last.error.message)}` : ""}`);
      }
    }
    for (const child of suite.suites ?? []) walk(child);
  };
  for (const suite of report?.suites ?? []) walk(suite);
  return found;
}
