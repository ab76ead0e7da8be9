import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { configureProcessSignals, createSignals, METRIC, processSignals, prometheusText, recordOutcome } from "./registry";

const line = (text: string, prefix: string) => text.split("\n").find((l) => l.startsWith(prefix));

describe("signals registry", () => {
  it("counts outcomes with every label, one series per distinct label set", async () => {
    const s = createSignals({ instance: "i1", store: "redis", target: "abcd1234" });
    s.recordOutcome({ route: "/api/register", status: 400, code: "session_unknown" });
    s.recordOutcome({ route: "/api/register", status: 400, code: "session_unknown" });
    s.recordOutcome({ route: "/api/register", status: 201, code: "ok" });
    const text = await s.prometheusText();
    assert.equal(line(text, `${METRIC.responses}_total{instance="i1",store="redis",route="/api/register",status="400",code="session_unknown"}`)?.split(" ").at(-1), "2");
    assert.equal(line(text, `${METRIC.responses}_total{instance="i1",store="redis",route="/api/register",status="201",code="ok"}`)?.split(" ").at(-1), "1");
    assert.match(text, /# TYPE holdfast_responses_total counter/);
    await s.shutdown();
  });

  it("times store calls in seconds, by store, operation and outcome", async () => {
    const s = createSignals({ instance: "i2", store: "cached" });
    s.observeStoreCall("redis", "read", 2, "ok");
    s.observeStoreCall("redis", "read", 4, "ok");
    s.observeStoreCall("database", "captcha.put", 3_000, "unavailable");
    const text = await s.prometheusText();
    const series = (op: string, outcome: string, store: string) => `instance="i2",store="${store}",op="${op}",outcome="${outcome}"`;
    assert.equal(line(text, `${METRIC.storeCalls}_count{${series("read", "ok", "redis")}}`)?.split(" ").at(-1), "2");
    assert.equal(Number(line(text, `${METRIC.storeCalls}_sum{${series("read", "ok", "redis")}}`)?.split(" ").at(-1)), 0.006);
    assert.equal(line(text, `${METRIC.storeCalls}_bucket{${series("read", "ok", "redis")},le="0.0025"}`)?.split(" ").at(-1), "1");
    assert.equal(line(text, `${METRIC.storeCalls}_bucket{${series("captcha.put", "unavailable", "database")},le="2.5"}`)?.split(" ").at(-1), "0");
    assert.equal(line(text, `${METRIC.storeCalls}_bucket{${series("captcha.put", "unavailable", "database")},le="5"}`)?.split(" ").at(-1), "1");
    await s.shutdown();
  });

  it("names the instance and store even before anything was served", async () => {
    const s = createSignals({ instance: "quiet", store: "database", target: "0badc0de" });
    assert.match(await s.prometheusText(), /^holdfast_signals_info\{instance="quiet",store="database",target="0badc0de",secret=""\} 1$/m);
    assert.doesNotMatch(await s.prometheusText(), /holdfast_responses_total/);
    await s.shutdown();
  });

  it("escapes label values, so a hostile value cannot forge a series", async () => {
    const s = createSignals({ instance: "i1", store: "redis" });
    s.recordOutcome({ route: 'x"} 999\nholdfast_responses_total{code="ok', status: 200, code: "ok" });
    const text = await s.prometheusText();
    assert.equal(text.split("\n").filter((l) => l.startsWith("holdfast_responses_total")).length, 1);
    await s.shutdown();
  });

  it("one registry per process: configured once, shared through a global", async () => {
    assert.equal(configureProcessSignals({ instance: "first", store: "redis" }), true);
    assert.equal(configureProcessSignals({ instance: "second", store: "memory" }), false);
    const again = await import(`./registry.ts?copy=${Date.now()}`);
    assert.notEqual(again.processSignals, processSignals, "a second copy of the module, as Next's bundles make");
    assert.equal(again.processSignals(), processSignals());
    recordOutcome({ route: "/api/me", status: 401, code: "unauthenticated" });
    again.recordOutcome({ route: "/api/me", status: 401, code: "unauthenticated" });
    assert.match(await prometheusText(), /\{instance="first",store="redis",route="\/api\/me",status="401",code="unauthenticated"\} 2$/m);
  });

  it("cost of recordOutcome per call (printed, not asserted)", async () => {
    const s = createSignals({ instance: "bench", store: "redis" });
    const codes = ["ok", "session_unknown", "captcha_invalid", "captcha_missing"];
    const n = 200_000;
    for (let i = 0; i < 10_000; i++) s.recordOutcome({ route: "/api/register", status: 400, code: codes[i % 4]! });
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) s.recordOutcome({ route: "/api/register", status: 400, code: codes[i % 4]! });
    const ns = Number(process.hrtime.bigint() - start) / n;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) s.observeStoreCall("redis", "read", 1.5, "ok");
    const nsStore = Number(process.hrtime.bigint() - t0) / n;
    console.log(`recordOutcome: ${ns.toFixed(0)} ns per call; observeStoreCall: ${nsStore.toFixed(0)} ns per call (${n} calls each)`);
    assert.match(await s.prometheusText(), new RegExp(`code="captcha_invalid"\\} ${(n + 10_000) / 4}$`, "m"));
    await s.shutdown();
  });
});
