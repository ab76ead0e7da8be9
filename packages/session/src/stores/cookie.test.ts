import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as Iron from "@hapi/iron";
import { sealData, unsealData } from "iron-session";
import { SessionTooLargeError, type SessionRecord } from "../store.js";
import { createCookieStore, MAX_COOKIE_BYTES, sealPasswords } from "./cookie.js";

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
    for (const bad of ["", "Fe26.2", "Fe26.2**", "x".repeat(5000), "Fe26.2*1*a*b*c*d*e*f~2", "%%%", "Fe26.2*9*****~2", "Fe26.2*constructor*a*b*c**d*e~2", "Fe26.2*__proto__*a*b*c**d*e~2"]) {
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

  // The store sealed through iron-session 8 before: cookies already in browsers must keep opening,
  // and a rollback must open what this version sealed.
  const idOf = (secret: string) => Object.keys(sealPasswords([secret]))[0]!;

  it("opens a session that iron-session 8 sealed, under the same secret's id", async () => {
    const sealed = await sealData(record({ from: "iron-session" }), { password: sealPasswords([A]), ttl: 3600 });
    assert.deepEqual(await store([A]).read(sealed, 0), record({ from: "iron-session" }));
    assert.deepEqual((await store([B, A]).read(sealed, 0))?.data, { from: "iron-session" }, "a rotated-out secret still opens it");
    assert.equal(await store([B]).read(sealed, 0), null);
  });

  it("seals what iron-session 8 opens", async () => {
    const sealed = await store([A]).create(record({ to: "iron-session" }), 0);
    assert.deepEqual(await unsealData(sealed, { password: sealPasswords([A]), ttl: 3600 }), record({ to: "iron-session" }));
    assert.deepEqual(await unsealData(sealed, { password: sealPasswords([B]), ttl: 3600 }), {}, "another secret opens nothing");
  });

  it("an expired seal is no session", async () => {
    const password = { id: idOf(A), secret: A };
    // Sealed two hours ago with a one-hour lifetime: past the seal's own expiry and its minute of clock skew.
    const stale = `${await Iron.seal(record(), password, { ...Iron.defaults, ttl: 3_600_000, localtimeOffsetMsec: -7_200_000 })}~2`;
    const fresh = `${await Iron.seal(record(), password, { ...Iron.defaults, ttl: 3_600_000, localtimeOffsetMsec: -1_800_000 })}~2`;
    assert.equal(await store([A]).read(stale, 0), null);
    assert.ok(await store([A]).read(fresh, 0), "half an hour into its hour it still opens");
  });

  it("a seal of something that is not a session record is no session", async () => {
    for (const value of [null, 42, "text", [], { data: {} }]) {
      const sealed = `${await Iron.seal(value, { id: idOf(A), secret: A }, { ...Iron.defaults, ttl: 3_600_000 })}~2`;
      assert.equal(await store([A]).read(sealed, 0), null, JSON.stringify(value));
    }
  });

  it(`refuses to write a cookie above ${MAX_COOKIE_BYTES} bytes`, async () => {
    await assert.rejects(store([A]).create(record({ big: "x".repeat(4000) }), 0), SessionTooLargeError);
    const fits = await store([A]).create(record({ small: "x".repeat(1000) }), 0);
    assert.ok(fits.length < MAX_COOKIE_BYTES);
  });
});
