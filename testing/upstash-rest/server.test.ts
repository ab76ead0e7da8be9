// Exercises the development/test Upstash REST server with the real @upstash/redis client (default
// settings, so base64 responses and auto-pipelining) over the local Redis at 127.0.0.1:6379.
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "@upstash/redis";
import { startUpstashRestServer, type UpstashRestServer } from "./server";

const REDIS_URL = "redis://127.0.0.1:6379";
const prefix = `holdfast-test:upstash-rest:${randomUUID()}:`;
const createdKeys = new Set<string>();
const key = (name: string) => {
  const full = prefix + name;
  createdKeys.add(full);
  return full;
};

let server: UpstashRestServer;
let redis: Redis;

const rawPost = (path: string, body: string, init: RequestInit = {}) =>
  fetch(server.url + path, {
    method: "POST",
    body,
    ...init,
    headers: { Authorization: `Bearer ${server.token}`, ...init.headers },
  });

before(async () => {
  server = await startUpstashRestServer({ redisUrl: REDIS_URL, token: `test-${randomUUID()}`, port: 0 });
  redis = new Redis({ url: server.url, token: server.token });
});

after(async () => {
  if (createdKeys.size > 0) await redis.del(...createdKeys);
  await server.close();
});

test("SET then GET round-trips a string, including non-ASCII", async () => {
  const k = key("plain");
  assert.equal(await redis.set(k, "héllo wörld 👋"), "OK");
  assert.equal(await redis.get(k), "héllo wörld 👋");
  assert.equal(await redis.get(key("missing")), null);
});

test("objects are stored as JSON and come back deep-equal", async () => {
  const k = key("json");
  const value = { name: "holdfast", count: 3, nested: { list: [1, "two", null], ok: true } };
  await redis.set(k, value);
  assert.deepEqual(await redis.get(k), value);
});

test("SET NX EX returns null when the key already exists and keeps the first value", async () => {
  const k = key("nx");
  assert.equal(await redis.set(k, "first", { nx: true, ex: 10 }), "OK");
  assert.equal(await redis.set(k, "second", { nx: true, ex: 10 }), null);
  assert.equal(await redis.get(k), "first");
  const ttl = await redis.ttl(k);
  assert.ok(ttl > 0 && ttl <= 10, `ttl ${ttl} should be in (0, 10]`);
});

test("GETDEL returns the value and removes the key", async () => {
  const k = key("getdel");
  await redis.set(k, "gone-soon");
  assert.equal(await redis.getdel(k), "gone-soon");
  assert.equal(await redis.exists(k), 0);
  assert.equal(await redis.getdel(k), null);
});

test("TTL and EXPIRE", async () => {
  const k = key("ttl");
  assert.equal(await redis.ttl(k), -2);
  await redis.set(k, "v");
  assert.equal(await redis.ttl(k), -1);
  assert.equal(await redis.expire(k, 100), 1);
  const ttl = await redis.ttl(k);
  assert.ok(ttl > 90 && ttl <= 100, `ttl ${ttl} should be in (90, 100]`);
});

test("pipeline returns results in order and reports errors per command", async () => {
  const k = key("pipeline");
  const results = await redis.pipeline().set(k, "1").incr(k).incrby(k, 5).get(k).exec();
  assert.deepEqual(results, ["OK", 2, 7, 7]);

  const withError = await redis.pipeline().set(k, "not-a-number").incr(k).get(k).exec({ keepErrors: true });
  assert.equal(withError[0]?.result, "OK");
  assert.match(String(withError[1]?.error), /not an integer/);
  assert.equal(withError[2]?.result, "not-a-number");
});

test("multi executes the commands as one transaction", async () => {
  const k = key("multi");
  const results = await redis.multi().set(k, 10).incr(k).get(k).exec();
  assert.deepEqual(results, ["OK", 11, 11]);
});

test("multi-exec is discarded entirely when a command is rejected while queueing", async () => {
  const k = key("multi-abort");
  const res = await rawPost("/multi-exec", JSON.stringify([["SET", k, "x"], ["GET"]]));
  assert.equal(res.status, 400);
  assert.match(((await res.json()) as { error: string }).error, /wrong number of arguments/);
  assert.equal(await redis.exists(k), 0);
});

test("EVAL passes keys and args and returns nested results", async () => {
  const k = key("eval");
  const script = "redis.call('SET', KEYS[1], ARGV[1]); return {KEYS[1], redis.call('GET', KEYS[1]), redis.call('STRLEN', KEYS[1])}";
  assert.deepEqual(await redis.eval(script, [k], ["hello"]), [k, "hello", 5]);
});

test("commands sent to POST / return arrays and map Redis errors to a thrown error", async () => {
  // lrange and hgetall bypass auto-pipelining, so these go to the single-command route.
  const list = key("list");
  await redis.rpush(list, "a", "b", "ü");
  assert.deepEqual(await redis.lrange(list, 0, -1), ["a", "b", "ü"]);
  await assert.rejects(redis.hgetall(list), /WRONGTYPE/);
});

test("without Upstash-Encoding the raw protocol returns plain strings", async () => {
  const k = key("raw");
  await redis.set(k, "plain-text");
  const res = await rawPost("/", JSON.stringify(["GET", k]));
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { result: "plain-text" });

  const encoded = await rawPost("/", JSON.stringify(["GET", k]), { headers: { "Upstash-Encoding": "base64" } });
  assert.deepEqual(await encoded.json(), { result: Buffer.from("plain-text").toString("base64") });
});

test("a wrong token is rejected", async () => {
  const intruder = new Redis({ url: server.url, token: "wrong-token" });
  await assert.rejects(intruder.get(key("plain")), /Unauthorized/);

  const res = await fetch(server.url, { method: "POST", body: '["PING"]' });
  assert.equal(res.status, 401);
  assert.deepEqual(await res.json(), { error: "Unauthorized" });
});

test("malformed JSON gets 400 and the server keeps serving", async () => {
  const res = await rawPost("/", '["SET", "unterminated');
  assert.equal(res.status, 400);
  assert.equal(typeof ((await res.json()) as { error: unknown }).error, "string");
  assert.equal(await redis.ping(), "PONG");
});

test("oversized bodies, other methods and unknown paths are refused", async () => {
  const huge = JSON.stringify(["SET", key("huge"), "x".repeat(2 * 1024 * 1024)]);
  assert.equal((await rawPost("/", huge)).status, 413);
  assert.equal((await fetch(server.url, { headers: { Authorization: `Bearer ${server.token}` } })).status, 405);
  assert.equal((await rawPost("/nope", '["PING"]')).status, 404);
  assert.equal(await redis.exists(key("huge")), 0);
  assert.equal(await redis.ping(), "PONG");
});
