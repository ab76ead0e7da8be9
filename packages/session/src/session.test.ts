import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Session } from "./session.js";
import { createMemoryStore } from "./stores/memory.js";
import { StoreUnavailableError, type SessionStore } from "./store.js";

const options = { idleTimeoutMs: 3_600_000, absoluteTimeoutMs: 7_200_000 };

/** A store whose reads wait for `release()`, and which counts its calls. */
function gatedStore(inner: SessionStore, fail = false) {
  const calls: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const store: SessionStore = {
    ...inner,
    async read(token, now) {
      calls.push("read");
      await gate;
      if (fail) throw new StoreUnavailableError("memory");
      return inner.read(token, now);
    },
    async update(token, record, expiresAt) {
      calls.push("update");
      return inner.update(token, record, expiresAt);
    },
  };
  return { store, calls, release };
}

async function liveToken(store: SessionStore): Promise<string> {
  const s = new Session(store, undefined, options);
  await s.set("a", 1);
  return ((await s.commit()) as { value: string }).value;
}

describe("Session.prefetch", () => {
  it("starts the read at once, and the first use waits for that same read", async () => {
    const memory = createMemoryStore();
    const token = await liveToken(memory);
    const { store, calls, release } = gatedStore(memory);
    const session = new Session(store, token, options);
    session.prefetch();
    session.prefetch();
    assert.deepEqual(calls, ["read"], "one read, started by the prefetch");
    const value = session.get<number>("a");
    release();
    assert.equal(await value, 1);
    assert.equal(await session.state(), "live");
    assert.deepEqual(calls, ["read"], "the use read nothing more");
  });

  it("leaves a session that is never used as if unread: no write, the cookie kept", async () => {
    const memory = createMemoryStore();
    const token = await liveToken(memory);
    const { store, calls, release } = gatedStore(memory);
    // Long past the touch interval, so a used session would be written to refresh its clock.
    const session = new Session(store, token, { ...options, now: () => Date.now() + 600_000 });
    session.prefetch();
    release();
    assert.deepEqual(await session.commit(), { kind: "keep" });
    assert.deepEqual(calls, ["read"]);
  });

  it("keeps a failed read to itself until the session is used, then throws it", async () => {
    const memory = createMemoryStore();
    const token = await liveToken(memory);
    const unused = gatedStore(memory, true);
    const quiet = new Session(unused.store, token, options);
    quiet.prefetch();
    unused.release();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(await quiet.commit(), { kind: "keep" }, "an unused session commits without the failed read");

    const used = gatedStore(memory, true);
    const session = new Session(used.store, token, options);
    session.prefetch();
    used.release();
    await assert.rejects(session.get("a"), StoreUnavailableError);
  });

  it("does nothing without a cookie", async () => {
    const { store, calls } = gatedStore(createMemoryStore());
    const session = new Session(store, undefined, options);
    session.prefetch();
    assert.deepEqual(calls, []);
    assert.equal(await session.state(), "absent");
  });
});

describe("the idle timeout of a session no one has logged in to", () => {
  const timed = { idleTimeoutMs: 3_600_000, anonymousIdleTimeoutMs: 600_000, absoluteTimeoutMs: 7_200_000 };

  it("is the shorter one until a login, which gives the session the full idle timeout", async () => {
    let now = 1_000_000;
    const store = createMemoryStore();
    const visitor = new Session(store, undefined, { ...timed, now: () => now });
    await visitor.set("captcha", "pending");
    const issued = (await visitor.commit()) as { kind: "set"; value: string; expiresAt: number };
    assert.equal(issued.expiresAt, now + 600_000, "the store is told to keep it the anonymous idle timeout");

    now += 599_000;
    const back = new Session(store, issued.value, { ...timed, now: () => now });
    assert.equal(await back.get("captcha"), "pending");
    await back.logIn("user-1");
    const loggedIn = (await back.commit()) as { kind: "set"; value: string; expiresAt: number };
    assert.equal(loggedIn.expiresAt, now + 3_600_000);

    now += 3_000_000;
    assert.equal(await new Session(store, loggedIn.value, { ...timed, now: () => now }).state(), "live", "a logged-in session outlives the anonymous timeout");
  });

  it("ends an anonymous session unused that long, even in a store that would keep it", async () => {
    let now = 1_000_000;
    const store = createMemoryStore();
    const visitor = new Session(store, undefined, { ...timed, now: () => now });
    await visitor.set("draft", { username: "someone" });
    const { value } = (await visitor.commit()) as { value: string };
    now += 600_000;
    assert.equal(await new Session(store, value, { ...timed, now: () => now }).state(), "unknown");
  });

  it("is never longer than the idle timeout, and defaults to it", async () => {
    const now = 1_000_000;
    for (const [anonymousIdleTimeoutMs, expected] of [[undefined, 3_600_000], [9_000_000, 3_600_000]] as const) {
      const s = new Session(createMemoryStore(), undefined, { ...timed, anonymousIdleTimeoutMs, now: () => now });
      await s.set("a", 1);
      assert.equal(((await s.commit()) as { expiresAt: number }).expiresAt, now + expected);
    }
  });
});
