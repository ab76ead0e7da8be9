import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SessionTooLargeError, type SessionRecord } from "../store.js";
import { createCookieStore, MAX_COOKIE_BYTES } from "./cookie.js";

const A = "first-secret-aaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const B = "second-secret-bbbbbbbbbbbbbbbbbbbbbbbbbbb";
const record = (data: Record<string, unknown> = { n: 1 }): SessionRecord => ({ data, userId: null, createdAt: 1, lastActiveAt: 1 });
const store = (secrets: string[]) => createCookieStore({ secrets, cookieName: "holdfast_session", ttlSeconds: 3600 });

describe("cookie store", () => {
  it("secret rotation: a seal made with the old secret still opens once a new secret leads", async () => {
    const old = await store([A]).create(record(), 0);
    const rotated = store([B, A]);
    assert.deepEqual((await rotated.read(old, 0))?.data, { n: 1 });
    // New seals use the new first secret, so dropping the old one later keeps them valid.
    const fresh = await rotated.create(record({ n: 2 }), 0);
    assert.deepEqual((await store([B]).read(fresh, 0))?.data, { n: 2 });
    assert.equal(await store([B]).read(old, 0), null);
  });

  it("a cookie sealed with a foreign secret is no session", async () => {
    const foreign = await store(["someone-elses-secret-xxxxxxxxxxxxxxxxxx"]).create(record(), 0);
    assert.equal(await store([A]).read(foreign, 0), null);
  });

  it("garbage of every shape is no session, never an exception", async () => {
    for (const bad of ["", "Fe26.2", "Fe26.2**", "x".repeat(5000), "Fe26.2*1*a*b*c*d*e*f~2", "%%%", "Fe26.2*9*****~2"]) {
      assert.equal(await store([A]).read(bad, 0), null, JSON.stringify(bad.slice(0, 20)));
    }
  });

  it("a seal has one spelling: characters appended to it make it no session", async () => {
    const sealed = await store([A]).create(record(), 0);
    assert.ok(await store([A]).read(sealed, 0), "the seal itself opens");
    // A fresh store as well, so the unseal cache is not what answers.
    for (const bad of [`${sealed}x`, `${sealed}xx`, `${sealed}A`, `${sealed}0`, `${sealed}~2`, `${sealed} `, sealed.replace(/~2$/, "~02")]) {
      assert.equal(await store([A]).read(bad, 0), null, bad.slice(-6));
      const warm = store([A]);
      await warm.read(sealed, 0);
      assert.equal(await warm.read(bad, 0), null, `warm cache: ${bad.slice(-6)}`);
    }
  });

  it(`refuses to write a cookie above ${MAX_COOKIE_BYTES} bytes`, async () => {
    await assert.rejects(store([A]).create(record({ big: "x".repeat(4000) }), 0), SessionTooLargeError);
    const fits = await store([A]).create(record({ small: "x".repeat(1000) }), 0);
    assert.ok(fits.length < MAX_COOKIE_BYTES);
  });
});
