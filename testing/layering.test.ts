import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";

/**
 * The layering rules (.dependency-cruiser.cjs) catch what they promise: each probe is a file
 * that breaks one rule, written where the rule looks, cruised alone, and removed again.
 */

function cruise(file: string, source: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, source);
  try {
    const result = spawnSync("npx", ["depcruise", file, "--config", ".dependency-cruiser.cjs", "--output-type", "err"], { encoding: "utf8" });
    return `${result.stdout}${result.stderr}`;
  } finally {
    rmSync(file, { force: true });
  }
}

const probes: [rule: string, file: string, source: string][] = [
  ["app-imports-no-store", "app/layering-probe.ts", 'import { createRedisStore } from "@holdfast/session/stores/redis";\nexport const probe = createRedisStore;\n'],
  ["app-imports-no-store", "app/layering-probe.ts", 'import { PrismaClient } from "../prisma/generated/client";\nexport const probe = PrismaClient;\n'],
  ["core-imports-no-next", "packages/session/src/layering-probe.ts", 'import { cookies } from "next/headers.js";\nexport const probe = cookies;\n'],
  ["core-imports-no-driver", "packages/session/src/layering-probe.ts", 'import { createClient } from "redis";\nexport const probe = createClient;\n'],
  ["package-imports-no-app", "packages/session/src/stores/layering-probe.ts", 'import { config } from "../../../../lib/env";\nexport const probe = config;\n'],
  ["captcha-and-users-import-no-store", "lib/captcha/layering-probe.ts", 'import { createMemoryStore } from "@holdfast/session/stores/memory";\nexport const probe = createMemoryStore;\n'],
  ["shipped-code-imports-no-test-tooling", "lib/layering-probe.ts", 'import { STORE_CONFIGS } from "../testing/stores";\nexport const probe = STORE_CONFIGS;\n'],
];

describe("layering rules", () => {
  for (const [rule, file, source] of probes) {
    it(`${rule} refuses ${file} importing ${/from "([^"]+)"/.exec(source)![1]}`, () => {
      assert.match(cruise(file, source), new RegExp(`error ${rule}:`));
    });
  }

  it("an allowed import passes", () => {
    const out = cruise("app/layering-probe.ts", 'import { currentUser } from "@/lib/next/session";\nexport const probe = currentUser;\n');
    assert.doesNotMatch(out, /error /);
  });
});
