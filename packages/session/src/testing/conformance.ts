import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { beforeEach, describe, it } from "node:test";
import { countingStore } from "./counting.js";
import { Session, type CookieChange } from "../session.js";
import type { SessionStore } from "../store.js";

/** One backend under test. */
export interface StoreFixture {
  store: SessionStore;
  /** Records the backend holds, to prove a read creates nothing; absent where the server holds none. */
  countSessions?: () => Promise<number>;
  /** A user id the backend accepts (where sessions reference a users table). */
  userId?: () => Promise<string>;
}

const IDLE_MS = 1_000_000;
const ABSOLUTE_MS = 5_000_000;

/**
 * The conformance suite every store runs: one set of cases, parameterised by store. Where a
 * store cannot do a thing by nature (revoking a sealed cookie), the case says so in its name
 * and asserts the store's actual behaviour instead of skipping.
 */
export function storeConformance(label: string, makeFixture: () => StoreFixture | Promise<StoreFixture>) {
  describe(`session store conformance: ${label}`, () => {
    const START = Date.UTC(2026, 0, 1);
    let clock = START;
    const now = () => clock;
    beforeEach(() => {
      clock = START;
    });
    const open = (store: SessionStore, token?: string) =>
      new Session(store, token, { idleTimeoutMs: IDLE_MS, absoluteTimeoutMs: ABSOLUTE_MS, now });
    const tokenOf = (change: CookieChange): string => {
      assert.equal(change.kind, "set", `expected a cookie to be set, got ${change.kind}`);
      return (change as { value: string }).value;
    };
    async function fresh(store: SessionStore, data: Record<string, unknown> = { n: 1 }) {
      const s = open(store);
      for (const [k, v] of Object.entries(data)) await s.set(k, v);
      return tokenOf(await s.commit());
    }

    it("round trip: what is set comes back", async () => {
      const { store } = await makeFixture();
      const token = await fresh(store, { a: "x", nested: { list: [1, 2] } });
      const s = open(store, token);
      assert.equal(await s.state(), "live");
      assert.equal(await s.get("a"), "x");
      assert.deepEqual(await s.get("nested"), { list: [1, 2] });
      assert.equal(await s.has("missing"), false);
    });

    it("lazy load: a session never touched makes no store call", async () => {
      const { store } = await makeFixture();
      const token = await fresh(store);
      const counted = countingStore(store);
      const s = open(counted, token);
      assert.deepEqual(await s.commit(), { kind: "keep" });
      assert.deepEqual(counted.calls, []);
    });

    it("write only on change: a read-only request costs one read and no write", async () => {
      const { store } = await makeFixture();
      const token = await fresh(store);
      const counted = countingStore(store);
      const s = open(counted, token);
      assert.equal(await s.get("n"), 1);
      assert.deepEqual(await s.commit(), { kind: "keep" });
      assert.deepEqual(counted.calls, ["read"]);
    });

    it("a modified session costs one read and one update", async () => {
      const { store } = await makeFixture();
      const token = await fresh(store);
      const counted = countingStore(store);
      const s = open(counted, token);
      await s.set("n", 2);
      const next = tokenOf(await s.commit());
      assert.deepEqual(counted.calls, ["read", "update"]);
      assert.equal(await open(store, next).get("n"), 2);
    });

    it("an emptied session is deleted and its cookie cleared", async () => {
      const { store } = await makeFixture();
      const token = await fresh(store);
      const s = open(store, token);
      await s.unset("n");
      assert.deepEqual(await s.commit(), { kind: "clear" });
    });

    it(`regenerate keeps the data and kills the old token (a sealed cookie, not revocable, stays valid until it expires)`, async () => {
      const { store } = await makeFixture();
      const token = await fresh(store, { keep: "me" });
      const s = open(store, token);
      await s.regenerate();
      const next = tokenOf(await s.commit());
      assert.notEqual(next, token);
      assert.equal(await open(store, next).get("keep"), "me");
      assert.equal(await open(store, token).state(), store.revocable ? "unknown" : "live");
    });

    it("logIn rotates the token and records the user", async () => {
      const fixture = await makeFixture();
      const { store } = fixture;
      const userId = fixture.userId ? await fixture.userId() : randomUUID();
      const token = await fresh(store);
      const s = open(store, token);
      await s.logIn(userId);
      const next = tokenOf(await s.commit());
      assert.notEqual(next, token);
      assert.equal(await open(store, next).userId(), userId);
    });

    it(`destroy removes the session (a sealed cookie: clears the cookie only) and is safe to repeat`, async () => {
      const { store } = await makeFixture();
      const token = await fresh(store);
      const s = open(store, token);
      await s.destroy();
      await s.destroy();
      await store.delete(token);
      assert.deepEqual(await s.commit(), { kind: "clear" });
      assert.equal(await open(store, token).state(), store.revocable ? "unknown" : "live");
    });

    for (const [kind, token] of [
      ["unknown", "A".repeat(43)],
      ["tampered", null],
      ["truncated", "short"],
    ] as const) {
      it(`a read of a ${kind} token gives an empty session and creates nothing`, async () => {
        const { store, countSessions } = await makeFixture();
        const real = await fresh(store);
        const bad = token ?? real.slice(0, -4) + (real.endsWith("AAAA") ? "BBBB" : "AAAA");
        const before = await countSessions?.();
        const counted = countingStore(store);
        const s = open(counted, bad);
        assert.equal(await s.state(), "unknown");
        assert.equal(await s.get("n"), undefined);
        assert.deepEqual(await s.commit(), { kind: "keep" });
        assert.equal(counted.calls.includes("create"), false);
        assert.equal(await countSessions?.(), before);
      });
    }

    it(`an update after destroy does not resurrect the session, nor touch the cookie (a sealed cookie: writes a new seal)`, async () => {
      const { store } = await makeFixture();
      const token = await fresh(store);
      const slow = open(store, token);
      assert.equal(await slow.get("n"), 1);
      await open(store, token).destroy();
      await slow.set("n", 2);
      const change = await slow.commit();
      if (store.revocable) {
        assert.deepEqual(change, { kind: "keep" });
        assert.equal(await open(store, token).state(), "unknown");
      } else {
        assert.equal(change.kind, "set");
      }
    });

    it("a request that read the session before a login rotated it neither brings the old token back nor clears the login's cookie", async () => {
      const fixture = await makeFixture();
      const { store } = fixture;
      const userId = fixture.userId ? await fixture.userId() : randomUUID();
      const token = await fresh(store);
      // Another tab's request, in flight while this tab logs in.
      const other = open(store, token);
      assert.equal(await other.get("n"), 1);
      const login = open(store, token);
      await login.logIn(userId);
      const rotated = await login.commit();
      assert.equal(rotated.kind, "set");
      await other.set("n", 2);
      const change = await other.commit();
      if (store.revocable) {
        // No Set-Cookie at all: one that cleared the cookie could arrive after the login's.
        assert.deepEqual(change, { kind: "keep" });
        assert.equal(await open(store, token).state(), "unknown");
        assert.equal(await open(store, (rotated as { value: string }).value).userId(), userId);
      } else {
        assert.equal(change.kind, "set");
      }
    });

    it("idle expiry: a session unused for longer than the idle timeout is gone", async () => {
      const { store } = await makeFixture();
      const token = await fresh(store);
      clock += IDLE_MS - 1;
      assert.equal(await open(store, token).state(), "live");
      clock += 2;
      const s = open(store, token);
      assert.equal(await s.state(), "unknown");
      assert.equal(await s.get("n"), undefined);
    });

    it("activity slides the idle timeout, but never past the absolute timeout", async () => {
      const { store } = await makeFixture();
      let token = await fresh(store);
      // Touch the session every half idle-period until the absolute limit is close.
      while (clock + IDLE_MS / 2 < START + ABSOLUTE_MS) {
        clock += IDLE_MS / 2;
        const s = open(store, token);
        assert.equal(await s.state(), "live", `still live at +${clock - START}ms`);
        const change = await s.commit();
        if (change.kind === "set") token = change.value;
      }
      clock = START + ABSOLUTE_MS;
      assert.equal(await open(store, token).state(), "unknown");
    });

    it("revokeUser removes every session of the user but the one kept, and no one else's", async () => {
      const fixture = await makeFixture();
      const { store } = fixture;
      if (!store.revokeUser) {
        assert.equal(store.revocable, false, "a revocable store must implement revokeUser");
        return;
      }
      const [userId, otherId] = fixture.userId ? [await fixture.userId(), await fixture.userId()] : [randomUUID(), randomUUID()];
      const loggedIn = async (id: string) => {
        const s = open(store);
        await s.set("n", 1);
        await s.logIn(id);
        return tokenOf(await s.commit());
      };
      const [kept, gone1, gone2, other] = [await loggedIn(userId), await loggedIn(userId), await loggedIn(userId), await loggedIn(otherId)];
      assert.equal(await store.revokeUser(userId, kept), 2);
      assert.equal(await open(store, kept).state(), "live");
      assert.equal(await open(store, gone1).state(), "unknown");
      assert.equal(await open(store, gone2).state(), "unknown");
      assert.equal(await open(store, other).state(), "live");
      assert.equal(await store.revokeUser(userId), 1);
      assert.equal(await open(store, kept).state(), "unknown");
    });

    it("concurrent updates of one session all land without error, and the session stays live", async () => {
      const { store } = await makeFixture();
      const token = await fresh(store);
      const results = await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          const s = open(store, token);
          await s.set(`k${i}`, i);
          return s.commit();
        }),
      );
      assert.ok(results.every((r) => r.kind === "set"));
      const last = results.at(-1) as { value: string };
      assert.equal(await open(store, last.value).state(), "live");
    });
  });
}
