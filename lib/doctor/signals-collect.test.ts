import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { collectSignals, doctorSignals, METRICS_PATH } from "./signals-collect";

const TOKEN = "m".repeat(40);

function text(instance: string, signUps: Record<string, number> = { ok: 20 }): string {
  const lines = [`holdfast_signals_info{instance="${instance}",store="redis",target="aaaa0000"} 1`];
  for (const [code, n] of Object.entries(signUps)) lines.push(`holdfast_responses_total{instance="${instance}",store="redis",route="/api/register",status="400",code="${code}"} ${n}`);
  return lines.join("\n") + "\n";
}

/** A load balancer in front of `bodies`: round-robin by default, recording each request. */
function balancer(answers: ((req: Request) => Response)[], pick: (i: number) => number = (i) => i % answers.length) {
  const seen: Request[] = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const req = new Request(input, init);
    seen.push(req);
    return answers[pick(seen.length - 1)]!(req);
  }) as typeof globalThis.fetch;
  return { fetch, seen };
}

const serve = (body: string) => (req: Request) =>
  req.headers.get("authorization") === `Bearer ${TOKEN}` ? new Response(body, { headers: { "content-type": "text/plain" } }) : Response.json({ error: { code: "unauthenticated" } }, { status: 401 });

describe("doctor: collecting signals", () => {
  it("asks through the balancer until every instance answered, with the token, and stops", async () => {
    const lb = balancer([serve(text("i1")), serve(text("i2")), serve(text("i3"))]);
    const got = await collectSignals({ urls: ["http://lb:8080/"], token: TOKEN, fetch: lb.fetch });
    assert.deepEqual([...got.instances.keys()].sort(), ["i1", "i2", "i3"]);
    assert.deepEqual(got.problems, []);
    assert.equal(lb.seen[0]!.url, `http://lb:8080${METRICS_PATH}`);
    assert.ok(got.attempts <= 3 + 6, `stopped after ${got.attempts} requests`);
    const expected = await collectSignals({ urls: ["http://lb:8080"], token: TOKEN, fetch: balancer([serve(text("i1")), serve(text("i2"))]).fetch, expectInstances: 2 });
    assert.equal(expected.attempts, 2);
  });

  it("bounds its attempts, and says which instances were missing", async () => {
    const sticky = balancer([serve(text("i1")), serve(text("i2"))], () => 0);
    const got = await collectSignals({ urls: ["http://lb"], token: TOKEN, fetch: sticky.fetch, expectInstances: 2, maxAttempts: 7 });
    assert.equal(got.attempts, 7);
    assert.equal(got.problems[0]!.problem, `Only 1 of 2 instances answered in 7 requests to http://lb${METRICS_PATH}.`);
  });

  it("reads one URL per instance when given several", async () => {
    const direct = balancer([serve(text("a")), serve(text("b"))]);
    const got = await collectSignals({ urls: ["http://a:1", "http://b:2"], token: TOKEN, fetch: direct.fetch });
    assert.deepEqual([...got.instances.keys()], ["a", "b"]);
    assert.equal(got.attempts, 2);
  });

  it("names a wrong token, an instance without METRICS_TOKEN, and a missing token, never printing the token", async () => {
    const wrong = await collectSignals({ urls: ["http://lb"], token: "x".repeat(40), fetch: balancer([serve(text("i1"))]).fetch, maxAttempts: 3 });
    assert.deepEqual(wrong.problems.map((p) => p.check), ["signals-token"]);
    const off = balancer([serve(text("i1")), () => Response.json({ error: { code: "not_found" } }, { status: 404, headers: { "x-holdfast-instance": "i2" } })]);
    const half = await collectSignals({ urls: ["http://lb"], token: TOKEN, fetch: off.fetch, maxAttempts: 6 });
    assert.equal(half.problems[0]!.problem, `instance i2 (through http://lb${METRICS_PATH}) serves no metrics (404): METRICS_TOKEN is not set there.`);
    const none = await collectSignals({ urls: ["http://lb"], token: undefined, fetch: off.fetch });
    assert.equal(none.attempts, 0);
    for (const p of [...wrong.problems, ...half.problems, ...none.problems]) assert.ok(!JSON.stringify(p).includes("xxxxxxxx") && !JSON.stringify(p).includes(TOKEN));
  });

  it("an unreachable site is a finding, not a crash", async () => {
    // What undici throws when nothing listens there.
    const down = (async () => Promise.reject(Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } }))) as typeof fetch;
    const report = await doctorSignals({ urls: ["http://lb"], token: TOKEN, fetch: down, maxAttempts: 3 });
    assert.deepEqual(report.findings.map((f) => f.check), ["signals-unreachable"]);
    assert.equal(report.summary, `http://lb${METRICS_PATH} did not answer: the connection was refused, so nothing listens at that host and port.`);
  });

  it("collects and judges in one call: the sentence names the odd instance", async () => {
    const lb = balancer([serve(text("i1", { ok: 100 })), serve(text("i2", { ok: 66, session_unknown: 34 })), serve(text("i3", { ok: 100 }))]);
    const report = await doctorSignals({ urls: ["http://lb"], token: TOKEN, fetch: lb.fetch });
    assert.deepEqual(report.instances.map((i) => i.instance), ["i1", "i2", "i3"]);
    assert.match(report.summary, /^`session_unknown` is 34% of sign-ups on i2 and 0% elsewhere: i2 does not share the session store/);
  });
});
