import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import { closeTestDb, testDb } from "../../../testing/services";
import { SPENT } from "../ledger";
import { postgresLedger } from "./postgres";

after(() => closeTestDb());

describe("the Postgres ledger's sweep", () => {
  it("deletes a record a minute past its expiry, not before: an instance whose clock runs behind still finds it", async () => {
    const ledger = postgresLedger(testDb(), { sweepIntervalMs: Infinity });
    const now = Date.now();
    const recent = `sweep-${randomUUID()}`;
    const old = `sweep-${randomUUID()}`;
    await ledger.put(recent, { answerHash: "a", expiresAt: now - 30_000 }, 1);
    await ledger.put(old, { answerHash: "b", expiresAt: now - 90_000 }, 1);
    await ledger.take(recent);
    await ledger.sweepExpired(now);
    assert.equal(await ledger.take(recent), SPENT, "expired half a minute ago: its tombstone is kept");
    assert.equal(await ledger.take(old), null, "expired a minute and a half ago: gone");
  });
});
