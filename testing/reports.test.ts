import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { firstLines, playwrightFailures, tapFailures } from "./reports";

/** node:test's own TAP for a file whose suite hook fails and whose one test fails an assertion. */
async function realTap(): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), "holdfast-tap-"));
  try {
    const file = path.join(dir, "fixture.test.mjs");
    writeFileSync(
      file,
      `import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
describe("a suite whose before hook fails", () => {
  before(() => { throw new Error("port 4242 is taken\\nby another process"); });
  it("first", () => {});
  it("second", () => {});
});
describe("plain", () => {
  it("passes", () => {});
  it("compares", () => { assert.equal(1, 2); });
});
`,
    );
    // Without NODE_TEST_CONTEXT, which would make the child report to this test runner instead.
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const run = await promisify(execFile)(process.execPath, ["--test", "--test-reporter=tap", file], { env }).catch((error: { stdout: string }) => error);
    return run.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("the failure list printed at the end of npm test", () => {
  it("names a failed hook with its error and a failed test with its assertion, nothing that passed or was only cancelled", async () => {
    const found = tapFailures(await realTap());
    assert.equal(found.length, 2, found.join("\n"));
    assert.equal(found[0], "a suite whose before hook fails — port 4242 is taken / by another process");
    assert.match(found[1]!, /^compares — Expected values to be strictly equal: \/ 1 !== 2$/);
  });

  it("names every Playwright test whose last try did not pass, with its error's first lines and no colours", () => {
    const result = (status: string, message?: string) => ({ status, ...(message ? { error: { message } } : {}) });
    const report = {
      suites: [
        {
          title: "signup.spec.ts",
          specs: [
            { title: "passes", tests: [{ results: [result("passed")] }] },
            { title: "flaky, passed on retry", tests: [{ results: [result("failed", "first try"), result("passed")] }] },
            { title: "times out", tests: [{ results: [result("timedOut", "\u001b[31mTest timeout of 30000ms exceeded.\u001b[39m\n\nmore\nand more\nbeyond")] }] },
          ],
          suites: [{ title: "nested", specs: [{ title: "skipped", tests: [{ results: [result("skipped")] }] }] }],
        },
      ],
    };
    assert.deepEqual(playwrightFailures(report), ["times out (timedOut) — Test timeout of 30000ms exceeded. / more / and more", "skipped (skipped)"]);
    assert.deepEqual(playwrightFailures(undefined), []);
  });

  it("keeps an error to 400 characters", () => {
    assert.equal(firstLines("x".repeat(1_000)).length, 400);
  });
});
