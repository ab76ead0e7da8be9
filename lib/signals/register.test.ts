import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { registerSignals, secretFingerprint, storeTarget } from "./register";
import { prometheusText } from "./registry";

describe("registerSignals", () => {
  it("does nothing outside the Node.js runtime", () => {
    assert.equal(registerSignals("edge", { instanceName: "edge", store: "redis" }), false);
    assert.equal(registerSignals(undefined, { instanceName: "build", store: "redis" }), false);
  });

  it("sets up once per process: a second call changes nothing", async () => {
    assert.equal(registerSignals("nodejs", { instanceName: "i7", store: "redis", redis: { url: "redis://:pw@cache:6379/0", prefix: "hf" }, secrets: ["s".repeat(40)] }), true);
    assert.equal(registerSignals("nodejs", { instanceName: "other", store: "memory" }), false);
    const info = /^holdfast_signals_info\{instance="([^"]+)",store="([^"]+)",target="([0-9a-f]{8})",secret="([0-9a-f]{8})"\} 1$/m.exec(await prometheusText());
    assert.deepEqual(info?.slice(1), ["i7", "redis", storeTarget({ store: "redis", redis: { url: "redis://cache:6379/0", prefix: "hf" } }, "i7"), secretFingerprint(["s".repeat(40)])]);
  });

  it("fingerprints where the store lives, never its credentials", () => {
    const redis = (url: string, prefix = "hf") => storeTarget({ store: "redis", redis: { url, prefix } }, "i1");
    assert.equal(redis("redis://:one@cache:6379/0"), redis("redis://:two@cache:6379/0"));
    assert.equal(redis("redis://cache:6379/0"), storeTarget({ store: "cached", redis: { url: "redis://cache:6379/0", prefix: "hf" } }, "i2"));
    assert.notEqual(redis("redis://cache:6379/0"), redis("redis://cache-2:6379/0"));
    assert.notEqual(redis("redis://cache:6379/0"), redis("redis://cache:6379/1"));
    assert.notEqual(redis("redis://cache:6379/0"), redis("redis://cache:6379/0", "other"));
    const db = (url: string) => storeTarget({ store: "database", databaseUrl: url }, "i1");
    assert.equal(db("postgres://u:a@db:5432/app"), db("postgres://v:b@db:5432/app?sslmode=require"));
    assert.notEqual(db("postgres://db:5432/app"), db("postgres://db:5432/app2"));
    assert.notEqual(storeTarget({ store: "memory" }, "i1"), storeTarget({ store: "memory" }, "i2"));
  });

  it("the secret's fingerprint is equal for one first secret, differs for another, and shows none of it", () => {
    const a = secretFingerprint(["a".repeat(40), "old".repeat(12)]);
    assert.match(a, /^[0-9a-f]{8}$/);
    assert.equal(a, secretFingerprint(["a".repeat(40)]));
    assert.notEqual(a, secretFingerprint(["b".repeat(40)]));
    assert.equal(secretFingerprint(undefined), "");
  });

  it("a Redis store's fingerprint covers the database its users live in, and one server spelled two ways is one", () => {
    const redis = (url: string, databaseUrl = "postgres://db:5432/app") => storeTarget({ store: "redis", redis: { url, prefix: "hf" }, databaseUrl }, "i1");
    assert.notEqual(redis("redis://cache:6379/5"), redis("redis://cache:6379/5", "postgres://db:5432/other"));
    assert.notEqual(storeTarget({ store: "cached", redis: { url: "redis://cache/5", prefix: "hf" }, databaseUrl: "postgres://db/app" }, "i1"), storeTarget({ store: "cached", redis: { url: "redis://cache/5", prefix: "hf" }, databaseUrl: "postgres://db-2/app" }, "i1"));
    assert.equal(redis("redis://localhost/5"), redis("redis://127.0.0.1:6379/5"));
    assert.equal(redis("redis://cache"), redis("redis://cache:6379/0"));
    assert.equal(redis("redis://cache/1", "postgresql://db/app"), redis("redis://cache:6379/1", "postgres://db:5432/app"));
  });
});
