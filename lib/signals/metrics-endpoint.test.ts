import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, parseConfig } from "../env";
import { metricsHandler, sameSecret } from "./metrics-endpoint";

const TOKEN = "t".repeat(20) + "0123456789abcdef";
const TEXT = 'holdfast_responses_total{instance="i1",code="ok"} 3\n';
const handler = (token: string | undefined) => metricsHandler({ token: () => token, text: async () => TEXT });
const get = (headers: Record<string, string> = {}, method = "GET") => new Request("http://h/api/internal/metrics", { method, headers });
const code = async (r: Response) => ((await r.json()) as { error: { code: string } }).error.code;

describe("metrics endpoint", () => {
  it("is a 404 not_found for everyone while METRICS_TOKEN is unset", async () => {
    for (const req of [get(), get({ authorization: `Bearer ${TOKEN}` }), get({}, "POST")]) {
      const response = await handler(undefined)(req);
      assert.equal(response.status, 404);
      assert.equal(await code(response), "not_found");
    }
  });

  it("is a 401 without the right bearer token, and never echoes a token", async () => {
    for (const authorization of [undefined, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, `Bearer`, TOKEN, `Bearer ${TOKEN} extra`]) {
      const response = await handler(TOKEN)(get(authorization === undefined ? {} : { authorization }));
      assert.equal(response.status, 401, String(authorization));
      assert.equal(response.headers.get("www-authenticate"), 'Bearer realm="metrics"');
      const body = await response.text();
      assert.equal(JSON.parse(body).error.code, "unauthenticated");
      assert.ok(!body.includes(TOKEN.slice(0, 12)));
    }
  });

  it("serves the Prometheus text to the right token, uncached; HEAD without a body", async () => {
    for (const authorization of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `Bearer  ${TOKEN}`]) {
      const response = await handler(TOKEN)(get({ authorization }));
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
      assert.equal(response.headers.get("cache-control"), "no-store");
      assert.equal(await response.text(), TEXT);
    }
    const head = await handler(TOKEN)(get({ authorization: `Bearer ${TOKEN}` }, "HEAD"));
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
  });

  it("names its instance on every answer when given one", async () => {
    const named = metricsHandler({ token: () => undefined, instance: () => "i2" });
    assert.equal((await named(get())).headers.get("x-holdfast-instance"), "i2");
    assert.equal((await handler(TOKEN)(get())).headers.get("x-holdfast-instance"), null);
  });

  it("refuses other methods with the contract's 405", async () => {
    const response = await handler(TOKEN)(get({ authorization: `Bearer ${TOKEN}` }, "POST"));
    assert.equal(response.status, 405);
    assert.equal(response.headers.get("allow"), "GET, HEAD");
    assert.equal(await code(response), "method_not_allowed");
  });

  it("answers internal_error, not the failure, when collection fails", async () => {
    const original = console.error;
    const logged: string[] = [];
    console.error = (line: string) => void logged.push(line);
    try {
      const response = await metricsHandler({ token: () => TOKEN, text: async () => Promise.reject(new RangeError(`secret ${TOKEN}`)) })(get({ authorization: `Bearer ${TOKEN}` }));
      assert.equal(response.status, 500);
      assert.equal(await code(response), "internal_error");
    } finally {
      console.error = original;
    }
    assert.deepEqual(logged, ["[holdfast] metrics collection failed: RangeError"]);
  });

  it("compares secrets exactly, whatever their lengths", () => {
    assert.equal(sameSecret(TOKEN, TOKEN), true);
    assert.equal(sameSecret(TOKEN, `${TOKEN} `), false);
    assert.equal(sameSecret("", TOKEN), false);
    assert.equal(sameSecret(TOKEN.slice(0, 31), TOKEN), false);
    assert.equal(sameSecret(`x${TOKEN.slice(1)}`, TOKEN), false);
  });

  it("compares in constant time: the first and the last byte differing cost the same (printed)", () => {
    const expected = "k".repeat(4096);
    const early = `x${expected.slice(1)}`;
    const late = `${expected.slice(0, -1)}x`;
    const time = (given: string) => {
      const start = process.hrtime.bigint();
      for (let i = 0; i < 20_000; i++) sameSecret(given, expected);
      return Number(process.hrtime.bigint() - start) / 20_000;
    };
    time(early);
    time(late);
    const [a, b] = [time(early), time(late)];
    console.log(`sameSecret over 4 KiB: first byte differs ${a.toFixed(0)} ns, last byte differs ${b.toFixed(0)} ns`);
  });

  it("METRICS_TOKEN: a short or spaced value is refused with one sentence that names the fix", () => {
    const base = { SESSION_SECRET: "s".repeat(40), DATABASE_URL: "postgres://localhost:1/x" };
    assert.equal(parseConfig(base).metricsToken, undefined);
    assert.equal(parseConfig({ ...base, METRICS_TOKEN: TOKEN }).metricsToken, TOKEN);
    for (const bad of ["short", `${"a".repeat(20)} ${"b".repeat(20)}`]) {
      assert.throws(
        () => parseConfig({ ...base, METRICS_TOKEN: bad }),
        (e: unknown) => e instanceof ConfigError && e.problems.length === 1 && /^METRICS_TOKEN is not valid: use 32 to 256 printable characters/.test(e.problems[0]!) && !e.message.includes(bad),
      );
    }
  });
});
