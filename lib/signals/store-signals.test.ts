import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SessionRecord, SessionStore } from "@holdfast/session";
import type { CaptchaLedger } from "../captcha/ledger";
import { createSignals } from "./registry";
import { withLedgerSignals, withStoreSignals } from "./store-signals";

class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
}

function fakeStore(): SessionStore {
  const records = new Map<string, SessionRecord>();
  return {
    name: "fake",
    revocable: true,
    shared: true,
    async create(record) {
      records.set("t1", record);
      return "t1";
    },
    async read(token) {
      if (token === "down") throw new StoreUnavailableError();
      if (token === "bug") throw new TypeError("bug");
      return records.get(token) ?? null;
    },
    async update() {
      return null;
    },
    async delete(token) {
      records.delete(token);
    },
    async ping() {},
  };
}

const count = (text: string, op: string, outcome: string) =>
  Number(new RegExp(`^holdfast_store_call_duration_seconds_count\\{instance="i1",store="fake",op="${op.replace(".", "\\.")}",outcome="${outcome}"\\} (\\d+)$`, "m").exec(text)?.[1] ?? 0);

describe("store round-trip signals", () => {
  it("passes results and errors through and times each call by operation and outcome", async () => {
    const signals = createSignals({ instance: "i1", store: "redis" });
    const store = withStoreSignals(fakeStore(), () => signals);
    const record: SessionRecord = { data: { a: 1 }, userId: null, createdAt: 1, lastActiveAt: 1 };
    assert.equal(await store.create(record, 10), "t1");
    assert.deepEqual(await store.read("t1", 0), record);
    assert.equal(await store.read("nope", 0), null);
    await assert.rejects(store.read("down", 0), { name: "StoreUnavailableError" });
    await assert.rejects(store.read("bug", 0), TypeError);
    await store.delete("t1");
    const text = await signals.prometheusText();
    assert.equal(count(text, "create", "ok"), 1);
    assert.equal(count(text, "read", "ok"), 2);
    assert.equal(count(text, "read", "unavailable"), 1);
    assert.equal(count(text, "read", "error"), 1);
    assert.equal(count(text, "delete", "ok"), 1);
    await signals.shutdown();
  });

  it("keeps the store's shape: no rotate or revokeUser where it has none", () => {
    const store = withStoreSignals(fakeStore(), () => createSignals({ instance: "i1", store: "redis" }));
    assert.equal(store.rotate, undefined);
    assert.equal(store.revokeUser, undefined);
    assert.deepEqual([store.name, store.revocable, store.shared], ["fake", true, true]);
  });

  it("times the captcha ledger under the backend that holds it", async () => {
    const signals = createSignals({ instance: "i1", store: "cookie" });
    const taken = new Set<string>();
    const ledger: CaptchaLedger = {
      async put() {},
      async take(id) {
        if (taken.has(id)) return null;
        taken.add(id);
        return { answerHash: "h", expiresAt: 1 };
      },
    };
    const timed = withLedgerSignals(ledger, "fake", () => signals);
    await timed.put("c", { answerHash: "h", expiresAt: 1 }, 1000);
    assert.deepEqual(await timed.take("c"), { answerHash: "h", expiresAt: 1 });
    assert.equal(await timed.take("c"), null);
    const text = await signals.prometheusText();
    assert.equal(count(text, "captcha.put", "ok"), 1);
    assert.equal(count(text, "captcha.take", "ok"), 2);
    await signals.shutdown();
  });
});
