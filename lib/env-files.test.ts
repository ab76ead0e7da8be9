import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { envFilesNote } from "./env-files";

describe("the .env files a command read", () => {
  it("a command run outside production names the .env.production it did not read, and how to read it", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "holdfast-dotenv-"));
    try {
      assert.equal(envFilesNote([], true, "npm run db:migrate", dir), null);
      assert.equal(envFilesNote([".env"], true, "npm run db:migrate", dir), "settings read from .env.");
      writeFileSync(path.join(dir, ".env.production"), "DATABASE_URL=postgres://db.internal/app\n");
      assert.equal(
        envFilesNote([".env"], true, "npm run db:migrate", dir),
        "settings read from .env; not from .env.production, which only production reads (as `npm start` runs): for the settings `npm start` uses, run `NODE_ENV=production npm run db:migrate`.",
      );
      assert.equal(envFilesNote([".env.production"], false, "npm run db:migrate", dir), "settings read from .env.production.");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
