import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createSignals } from "../signals/registry";
import { judgeSignals, summarizeSignals, type SignalsVerdict } from "./signals";
import { parsePrometheusText } from "./signals-text";

interface Synthetic {
  instance: string;
  store?: string;
  target?: string;
  secret?: string;
  /** Register responses by code. */
  signUps?: Record<string, number>;
  /** Store round trips by outcome, each taking `ms`. */
  calls?: Partial<Record<"ok" | "error" | "unavailable", number>>;
  ms?: number;
  unavailableResponses?: number;
}

/** The text a real registry serves after such traffic, so the doctor reads what instances write. */
async function metricsOf(spec: Synthetic): Promise<string> {
  const s = createSignals({ instance: spec.instance, store: spec.store ?? "redis", target: spec.target ?? "aaaa0000", secret: spec.secret ?? "5ec0000a" });
  for (const [code, n] of Object.entries(spec.signUps ?? {})) {
    for (let i = 0; i < n; i++) s.recordOutcome({ route: "/api/register", status: code === "ok" ? 201 : 400, code });
  }
  for (let i = 0; i < (spec.unavailableResponses ?? 0); i++) s.recordOutcome({ route: "/api/captcha", status: 503, code: "session_store_unavailable" });
  for (const [outcome, n] of Object.entries(spec.calls ?? { ok: 100 })) {
    for (let i = 0; i < n; i++) s.observeStoreCall(spec.store ?? "redis", "read", spec.ms ?? 1, outcome as "ok");
  }
  const text = await s.prometheusText();
  await s.shutdown();
  return text;
}

async function judge(...specs: Synthetic[]): Promise<SignalsVerdict> {
  const texts = await Promise.all(specs.map(metricsOf));
  return judgeSignals(summarizeSignals(texts.flatMap(parsePrometheusText)));
}

const checks = (v: SignalsVerdict) => v.findings.map((f) => f.check);

describe("doctor: signals per instance", () => {
  it("one instance far above the others names that instance as not sharing the session store", async () => {
    const v = await judge(
      { instance: "i1", signUps: { ok: 100 } },
      { instance: "i2", signUps: { ok: 66, session_unknown: 34 } },
      { instance: "i3", signUps: { ok: 100 } },
    );
    assert.deepEqual(checks(v), ["signals-session-unknown"]);
    assert.equal(
      v.summary,
      "`session_unknown` is 34% of sign-ups on i2 and 0% elsewhere: i2 does not share the session store with the others (it points at another Redis or database, or another REDIS_KEY_PREFIX).",
    );
  });

  it("one double submit or one replayed form on an instance is no pattern, whatever its share", async () => {
    const v = await judge(
      { instance: "i1", signUps: { ok: 10 } },
      { instance: "i2", signUps: { ok: 10, session_unknown: 1 } },
      { instance: "i3", signUps: { ok: 10, captcha_missing: 2 } },
    );
    assert.deepEqual(checks(v), []);
  });

  it("an instance pointed at another Redis: named by its store fingerprint, though the others fail on its sessions too", async () => {
    // i3 holds a third of the sessions, so POSTs that reach i1 and i2 fail on a third; i3 fails on two thirds.
    const v = await judge(
      { instance: "i1", signUps: { ok: 67, session_unknown: 33 } },
      { instance: "i2", signUps: { ok: 66, session_unknown: 34 } },
      { instance: "i3", target: "bbbb1111", signUps: { ok: 33, session_unknown: 67 } },
    );
    // The fingerprint names i3 first; the shares, judged on their own, say the same.
    assert.equal(
      v.summary,
      "i3 does not share the session store or the database with the others: its redis store points at another Redis, REDIS_KEY_PREFIX or DATABASE_URL, where users and captchas live (its store fingerprint differs). Sign-ups fail on i1 (33%), i2 (34%) and i3 (67%), because what one side began the other cannot find.",
    );
    assert.deepEqual(checks(v), ["signals-store-target", "signals-session-unknown"]);
    assert.match(v.findings[1]!.problem, /^`session_unknown` is 67% of sign-ups on i3 and 33% to 34% elsewhere: i3 does not share the session store/);
    // A round-robin artifact: i1 only ever receives sessions begun on i3, and i2 on i1.
    const rr = await judge(
      { instance: "i1", signUps: { ok: 50, session_unknown: 50 } },
      { instance: "i2", signUps: { ok: 100 } },
      { instance: "i3", target: "bbbb1111", signUps: { ok: 50, session_unknown: 50 } },
    );
    assert.match(rr.summary, /^i3 does not share the session store or the database with the others/);
  });

  it("an instance deployed with another SESSION_SECRET is named by its secret's fingerprint, first", async () => {
    const v = await judge(
      { instance: "i1", signUps: { ok: 60, pow_invalid: 40 } },
      { instance: "i2", secret: "0dd5ec00", signUps: { ok: 30, pow_invalid: 70 } },
      { instance: "i3", signUps: { ok: 62, pow_invalid: 38 } },
    );
    assert.equal(v.findings[0]!.check, "signals-secret");
    assert.match(v.summary, /^i2 seals and signs with another SESSION_SECRET than the others/);
    const two = await judge({ instance: "i1", signUps: { ok: 50, session_unknown: 50 } }, { instance: "i2", secret: "0dd5ec00", signUps: { ok: 50, session_unknown: 50 } });
    assert.match(two.summary, /^The instances do not share one SESSION_SECRET \(i1 against i2\)/);
    assert.ok(!checks(await judge({ instance: "i1", signUps: { ok: 10 } }, { instance: "i2", signUps: { ok: 10 } })).includes("signals-secret"));
  });

  it("an instance with another store kind is named with both kinds", async () => {
    const v = await judge(
      { instance: "i1", signUps: { ok: 80, session_unknown: 20 } },
      { instance: "i2", store: "memory", target: "cccc2222", signUps: { ok: 40, session_unknown: 60 } },
      { instance: "i3", signUps: { ok: 79, session_unknown: 21 } },
    );
    assert.equal(v.summary, "`session_unknown` is 60% of sign-ups on i2 and 20% to 21% elsewhere: i2 runs SESSION_STORE=memory while the others run redis, so it does not share the session store with the others.");
  });

  it("two memory instances: every instance high, each keeps its own sessions", async () => {
    const v = await judge(
      { instance: "i1", store: "memory", target: "11111111", signUps: { ok: 2, session_unknown: 48 } },
      { instance: "i2", store: "memory", target: "22222222", signUps: { ok: 3, session_unknown: 47 } },
    );
    assert.deepEqual(checks(v), ["signals-session-unknown"]);
    assert.equal(v.summary, "`session_unknown` is 94% to 96% of sign-ups on every instance (i1 and i2): every instance keeps sessions in its own memory (SESSION_STORE=memory), so a session begun on one is unknown to the next.");
    assert.equal(v.findings[0]!.fix, "Use a shared store: SESSION_STORE=cookie, database, redis or cached.");
  });

  it("two memory instances whose sign-ups fail on the proof of work: named as challenges kept in each process's memory", async () => {
    const v = await judge(
      { instance: "i1", store: "memory", target: "11111111", signUps: { ok: 1, pow_invalid: 14 } },
      { instance: "i2", store: "memory", target: "22222222", signUps: { pow_invalid: 15 } },
    );
    assert.deepEqual(checks(v), ["signals-pow-invalid"]);
    assert.equal(v.summary, "`pow_invalid` is 93% to 100% of sign-ups on every instance (i1 and i2): every instance keeps proof-of-work challenges in its own memory (SESSION_STORE=memory), so a challenge issued by one is unknown to the next.");
  });

  it("one instance high on pow_invalid: named as not sharing the challenges", async () => {
    const v = await judge(
      { instance: "i1", signUps: { ok: 100 } },
      { instance: "i2", signUps: { ok: 60, pow_invalid: 40 } },
      { instance: "i3", signUps: { ok: 100 } },
    );
    assert.deepEqual(checks(v), ["signals-pow-invalid"]);
    assert.match(v.summary, /^`pow_invalid` is 40% of sign-ups on i2 and 0% elsewhere: i2 does not share the proof-of-work challenges with the others/);
  });

  it("every instance high on one shared store kind: the instances do not find each other's sessions", async () => {
    const v = await judge(
      { instance: "i1", target: "11111111", signUps: { ok: 50, session_unknown: 50 } },
      { instance: "i2", target: "22222222", signUps: { ok: 50, session_unknown: 50 } },
    );
    assert.match(v.summary, /^`session_unknown` is 50% of sign-ups on every instance \(i1 and i2\): the instances do not find each other's sessions/);
  });

  it("an instance on another Redis whose own failures are of another code (a proof of work issued elsewhere) is still the one named", async () => {
    // Round-robin over challenge, captcha, register: i2's proofs fail on i1 and i3 (pow_invalid) while i3 meets i2's sessions.
    const v = await judge(
      { instance: "i1", signUps: { pow_invalid: 12 } },
      { instance: "i2", target: "bbbb1111", signUps: { pow_invalid: 12 } },
      { instance: "i3", signUps: { session_unknown: 12 } },
    );
    assert.equal(checks(v)[0], "signals-store-target");
    assert.match(v.summary, /^i2 does not share the session store or the database with the others/);
  });

  it("two memory instances have different fingerprints by nature: no store-target finding, the memory store is named", async () => {
    const v = await judge(
      { instance: "i1", store: "memory", target: "m1", signUps: { session_unknown: 12 } },
      { instance: "i2", store: "memory", target: "m2", signUps: { session_unknown: 12 } },
    );
    assert.ok(!checks(v).includes("signals-store-target"));
    assert.match(v.summary, /SESSION_STORE=memory/);
  });

  it("captchas lost on one instance of a cookie-store site: its captcha ledger is another database", async () => {
    const v = await judge(
      { instance: "i1", store: "cookie", target: "dddd0000", signUps: { ok: 85, captcha_lost: 15 } },
      { instance: "i2", store: "cookie", target: "eeee1111", signUps: { ok: 30, captcha_lost: 70 } },
      { instance: "i3", store: "cookie", target: "dddd0000", signUps: { ok: 86, captcha_lost: 14 } },
    );
    assert.deepEqual(checks(v), ["signals-store-target", "signals-captcha-lost"]);
    assert.match(v.summary, /^i2 keeps its captchas and challenges in another database than the others \(its DATABASE_URL fingerprint differs\)/);
    assert.match(v.findings[1]!.problem, /^`captcha_lost` is 70% of sign-ups on i2 and 14% to 15% elsewhere: i2 does not share the captcha ledger with the others/);
  });

  it("captchas lost on every Redis instance: eviction is named first; used ones everywhere are answers sent twice", async () => {
    const lost = await judge(
      { instance: "i1", store: "redis", signUps: { ok: 80, captcha_lost: 20 } },
      { instance: "i2", store: "redis", signUps: { ok: 79, captcha_lost: 21 } },
    );
    assert.deepEqual(checks(lost), ["signals-captcha-lost"]);
    assert.match(lost.summary, /Redis evicts keys under memory pressure/);
    assert.match(lost.findings[0]!.fix, /maxmemory-policy to noeviction/);
    const onDatabase = await judge(
      { instance: "i1", store: "database", signUps: { ok: 80, captcha_lost: 20 } },
      { instance: "i2", store: "database", signUps: { ok: 79, captcha_lost: 21 } },
    );
    assert.doesNotMatch(onDatabase.summary, /Redis/);
    const twice = await judge(
      { instance: "i1", store: "redis", signUps: { ok: 80, captcha_missing: 20 } },
      { instance: "i2", store: "redis", signUps: { ok: 79, captcha_missing: 21 } },
    );
    assert.deepEqual(checks(twice), ["signals-captcha-missing"]);
    assert.match(twice.summary, /send one answer twice/);
    assert.doesNotMatch(twice.summary, /ledger/);
  });

  it("no_session everywhere: the browser does not send the cookie back", async () => {
    const v = await judge({ instance: "i1", signUps: { ok: 10, no_session: 90 } }, { instance: "i2", signUps: { ok: 12, no_session: 88 } });
    assert.deepEqual(checks(v), ["signals-no-session"]);
    assert.match(v.summary, /on every instance \(i1 and i2\): browsers do not send the session cookie back: a Secure cookie over http, a SESSION_COOKIE_DOMAIN/);
  });

  it("no_session on one instance: its cookie settings differ", async () => {
    const v = await judge({ instance: "i1", signUps: { ok: 100 } }, { instance: "i2", signUps: { ok: 50, no_session: 50 } });
    assert.match(v.summary, /^`no_session` is 50% of sign-ups on i2 and 0% elsewhere: requests reaching i2 carry no cookie by the name it expects/);
  });

  it("store failures concentrated on one instance, and spread over all", async () => {
    const one = await judge(
      { instance: "i1", signUps: { ok: 50 }, calls: { ok: 400 } },
      { instance: "i2", signUps: { ok: 50 }, calls: { ok: 400 } },
      { instance: "i3", signUps: { ok: 41, session_store_unavailable: 9 }, calls: { ok: 352, unavailable: 48 } },
    );
    assert.deepEqual(checks(one), ["signals-store-failures"]);
    assert.equal(
      one.summary,
      "The session store fails on i3 (12% of 400 round trips failed; 9 responses were `session_store_unavailable`) and 0% of round trips elsewhere: i3 cannot reliably reach its session store, while the others reach theirs.",
    );
    const all = await judge(
      { instance: "i1", signUps: { ok: 50 }, calls: { ok: 90, error: 10 } },
      { instance: "i2", signUps: { ok: 50 }, calls: { ok: 88, error: 12 } },
    );
    assert.match(all.summary, /^The session store fails on every instance: .*: the store itself is failing or overloaded, not one instance's path to it\.$/);
  });

  it("one instance whose store round trips are much slower", async () => {
    const v = await judge(
      { instance: "i1", signUps: { ok: 50 }, ms: 1 },
      { instance: "i2", signUps: { ok: 50 }, ms: 40 },
      { instance: "i3", signUps: { ok: 50 }, ms: 1.2 },
    );
    assert.deepEqual(checks(v), ["signals-store-latency"]);
    assert.equal(v.summary, "Store round trips take 40.0 ms on average on i2 and 1.2 ms elsewhere: i2 talks to a more distant or a different store.");
  });

  it("nothing stands out: no finding, and a sentence that says what was looked at", async () => {
    const v = await judge(
      { instance: "i1", signUps: { ok: 99, session_unknown: 1 } },
      { instance: "i2", signUps: { ok: 100 } },
      { instance: "i3", signUps: { ok: 98, captcha_invalid: 2 } },
    );
    assert.deepEqual(v.findings, []);
    assert.equal(v.summary, "Nothing stands out on i1, i2 and i3: of 300 sign-ups, `session_unknown` is at most 1%, `captcha_missing` at most 0%, `captcha_lost` at most 0%, `no_session` at most 0% and `pow_invalid` at most 0% on any instance, and 0 of 300 store round trips failed.");
    const quiet = await judge({ instance: "i1", signUps: {} }, { instance: "i2", signUps: {} });
    assert.match(quiet.summary, /^Nothing stands out on i1 and i2, but no sign-ups were counted yet/);
  });

  it("too few sign-ups are not judged", async () => {
    const v = await judge({ instance: "i1", signUps: { ok: 1, session_unknown: 5 } }, { instance: "i2", signUps: { ok: 6 } });
    assert.deepEqual(v.findings, []);
  });
});
