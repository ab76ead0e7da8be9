import type { Finding } from "./diagnose";
import type { Sample } from "./signals-text";

/**
 * Judges several instances' signals side by side and names the cause in one sentence. What sets
 * a cause apart is where a failure happens: on one instance (that instance is configured
 * differently) or on all of them (the browser, the cookie or the shared backend). Only what the
 * counters can tell is said; the fix names the settings to compare.
 */

export interface InstanceSignals {
  instance: string;
  /** The configured SESSION_STORE. */
  store: string;
  /** A fingerprint of the backend the store talks to: equal where instances share one ("" when unknown). */
  target: string;
  /** A fingerprint of the secret the instance seals and signs with ("" when unknown). */
  secret: string;
  /** Responses of POST /api/register, by the contract's code ("ok" for a success). */
  signUps: Record<string, number>;
  /** `session_store_unavailable` responses on any route. */
  unavailableResponses: number;
  storeCalls: { count: number; failed: number; okCount: number; okSeconds: number };
}

export interface SignalsVerdict {
  findings: Finding[];
  /** The one sentence to print first: the first finding's problem, or why nothing stands out. */
  summary: string;
}

/** Sign-ups an instance needs before its shares are judged: fewer say nothing. */
export const MIN_SIGN_UPS = 10;
/** A share of sign-ups from which a code is a problem. */
export const HIGH_SHARE = 0.05;
/** And a count: one double submit or one replayed form is no pattern, whatever its share. */
export const MIN_FAILURES = 3;
/**
 * How many times the next instance's share one instance's must be to stand out on its share
 * alone. Not higher: with n instances and one odd one, the odd one fails on about (n-1)/n of
 * its sign-ups and the others on about 1/n, so three instances give 2x.
 */
export const STANDS_OUT = 1.75;
/** How many times the others' failure rate an instance's store failures must be to be its own. */
const FAILURES_STAND_OUT = 3;

const SIGN_UP_ROUTE = "/api/register";

export function summarizeSignals(samples: Sample[]): InstanceSignals[] {
  const byName = new Map<string, InstanceSignals>();
  const of = (labels: Record<string, string>) => {
    const name = labels.instance ?? "unnamed";
    let s = byName.get(name);
    if (!s) {
      s = { instance: name, store: labels.store ?? "unknown", target: "", secret: "", signUps: {}, unavailableResponses: 0, storeCalls: { count: 0, failed: 0, okCount: 0, okSeconds: 0 } };
      byName.set(name, s);
    }
    return s;
  };
  for (const { name, labels, value } of samples) {
    if (name === "holdfast_signals_info") {
      const s = of(labels);
      s.store = labels.store ?? "unknown";
      s.target = labels.target ?? "";
      s.secret = labels.secret ?? "";
    } else if (name === "holdfast_responses_total") {
      const s = of(labels);
      const code = labels.code ?? "unknown";
      if (labels.route === SIGN_UP_ROUTE) s.signUps[code] = (s.signUps[code] ?? 0) + value;
      if (code === "session_store_unavailable") s.unavailableResponses += value;
    } else if (name === "holdfast_store_call_duration_seconds_count") {
      const calls = of(labels).storeCalls;
      calls.count += value;
      if (labels.outcome === "ok") calls.okCount += value;
      else calls.failed += value;
    } else if (name === "holdfast_store_call_duration_seconds_sum" && labels.outcome === "ok") {
      of(labels).storeCalls.okSeconds += value;
    }
  }
  return [...byName.values()].sort((a, b) => a.instance.localeCompare(b.instance));
}

const total = (s: InstanceSignals) => Object.values(s.signUps).reduce((a, b) => a + b, 0);
const share = (s: InstanceSignals, code: string) => (s.signUps[code] ?? 0) / (total(s) || 1);

function pct(x: number): string {
  return x === 0 ? "0%" : x < 0.005 ? "under 1%" : `${Math.round(x * 100)}%`;
}

function names(list: string[]): string {
  return list.length <= 1 ? (list[0] ?? "") : `${list.slice(0, -1).join(", ")} and ${list.at(-1)}`;
}

function range(values: number[]): string {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return pct(lo) === pct(hi) ? pct(hi) : `${pct(lo)} to ${pct(hi)}`;
}

/** `captcha_lost` is a `captcha_missing` response whose captcha the ledger lost (the signals count it apart). */
type SignUpCode = "no_session" | "session_unknown" | "captcha_missing" | "captcha_lost" | "pow_invalid";

const CHECK: Record<SignUpCode, string> = {
  no_session: "signals-no-session",
  session_unknown: "signals-session-unknown",
  captcha_missing: "signals-captcha-missing",
  captcha_lost: "signals-captcha-lost",
  pow_invalid: "signals-pow-invalid",
};

const SHARED_FIX = "Give every instance the same SESSION_STORE and SESSION_SECRET, the same DATABASE_URL, and the same REDIS_URL and REDIS_KEY_PREFIX (redis, cached).";

/** Why a code is high on some instances and not on the others. */
function concentratedCause(code: SignUpCode, high: InstanceSignals[], low: InstanceSignals[]): { cause: string; fix: string } {
  const who = names(high.map((s) => s.instance));
  const one = high.length === 1;
  const stores = [...new Set(high.map((s) => s.store))];
  const otherStores = [...new Set(low.map((s) => s.store))];
  const differentStore = stores.some((s) => !otherStores.includes(s));
  const runs = differentStore ? `${who} ${one ? "runs" : "run"} SESSION_STORE=${stores.join("/")} while the others run ${otherStores.join("/")}, so ` : "";
  if (code === "no_session") {
    return {
      cause: `requests reaching ${who} carry no cookie by the name ${one ? "it expects" : "they expect"}, so ${one ? "its" : "their"} SESSION_COOKIE_NAME, SESSION_COOKIE_DOMAIN or SESSION_COOKIE_SECURE differs from the others'`,
      fix: "Give every instance the same SESSION_COOKIE_NAME, SESSION_COOKIE_DOMAIN and SESSION_COOKIE_SECURE.",
    };
  }
  if (code === "pow_invalid") {
    return {
      cause: `${runs}${who} ${one ? "does" : "do"} not share the proof-of-work challenges with the others: ${one ? "its" : "their"} challenges are kept in ${stores.includes("memory") ? "process memory" : "another Redis, key prefix or database"}, or signed with another SESSION_SECRET`,
      fix: `${SHARED_FIX} Proofs are checked against the challenge ledger and signed with keys derived from SESSION_SECRET.`,
    };
  }
  if (code === "captcha_lost") {
    return {
      cause: `${runs}${who} ${one ? "does" : "do"} not share the captcha ledger with the others (${one ? "its" : "their"} captchas are kept in another Redis, key prefix or database)`,
      fix: "Point every instance at the same DATABASE_URL, and the same REDIS_URL and REDIS_KEY_PREFIX (redis, cached).",
    };
  }
  if (code === "captcha_missing") {
    return {
      cause: `answers reaching ${who} find their captcha already used, or none issued: the clients sending to ${one ? "it" : "them"} send one answer twice (a retried request, a second click), or ${one ? "it serves" : "they serve"} another build of the sign-up page`,
      fix: `Compare ${one ? "that instance's" : "those instances'"} build and the clients that reach ${one ? "it" : "them"} with the others'.`,
    };
  }
  if (differentStore) return { cause: `${runs}${one ? "it does" : "they do"} not share the session store with the others`, fix: SHARED_FIX };
  if (stores.includes("cookie")) {
    return { cause: `${who} cannot open the cookies the others seal: ${one ? "its" : "their"} SESSION_SECRET differs`, fix: "Give every instance the same SESSION_SECRET (the same list, in the same order)." };
  }
  return {
    cause: `${who} ${one ? "does" : "do"} not share the session store with the others (${one ? "it points" : "they point"} at another Redis or database, or another REDIS_KEY_PREFIX)`,
    fix: SHARED_FIX,
  };
}

/** Why a code is high wherever it was counted. */
function widespreadCause(code: SignUpCode, all: InstanceSignals[]): { cause: string; fix: string } {
  const stores = [...new Set(all.map((s) => s.store))];
  if (code === "no_session") {
    return {
      cause: "browsers do not send the session cookie back: a Secure cookie over http, a SESSION_COOKIE_DOMAIN that does not match the site, or requests sent without credentials",
      fix: "Serve the site over https (with TRUST_PROXY=1 behind your proxy) or set SESSION_COOKIE_SECURE=auto, unset SESSION_COOKIE_DOMAIN or set it to the site's domain, and send fetch with credentials.",
    };
  }
  if (code === "pow_invalid") {
    if (stores.length === 1 && stores[0] === "memory") {
      return {
        cause: "every instance keeps proof-of-work challenges in its own memory (SESSION_STORE=memory), so a challenge issued by one is unknown to the next",
        fix: "Use a shared store: SESSION_STORE=cookie, database, redis or cached.",
      };
    }
    return {
      cause: "proofs of work fail everywhere: the instances sign challenges with different SESSION_SECRET values or do not share one ledger, or clients send proofs that are already spent or expired",
      fix: `${SHARED_FIX} Check that the page fetches a fresh challenge for every attempt.`,
    };
  }
  if (code === "captcha_lost") {
    return {
      cause: `captchas vanish from the ledger before they are answered, though nothing used them: ${
        stores.includes("redis") ? "Redis evicts keys under memory pressure (a maxmemory-policy other than noeviction), or " : ""
      }the instances keep their captchas in different ledgers`,
      fix: `${stores.includes("redis") ? "Set Redis's maxmemory-policy to noeviction (or give it more memory), and point" : "Point"} every instance at the same DATABASE_URL, and the same REDIS_URL and REDIS_KEY_PREFIX (redis, cached).`,
    };
  }
  if (code === "captcha_missing") {
    return {
      cause: "answers arrive for captchas that were already used, or before any was issued: clients send one answer twice (a retried request, a second click) or answer without loading the captcha first",
      fix: "Send one answer per image, and have a client that retries a sign-up load a new captcha first (GET /api/captcha with the session cookie).",
    };
  }
  if (stores.length > 1) return { cause: `the instances run different session stores (${stores.join(", ")}), so none finds the others' sessions`, fix: SHARED_FIX };
  if (stores[0] === "memory") {
    return {
      cause: "every instance keeps sessions in its own memory (SESSION_STORE=memory), so a session begun on one is unknown to the next",
      fix: "Use a shared store: SESSION_STORE=cookie, database, redis or cached.",
    };
  }
  if (stores[0] === "cookie") {
    return { cause: "the instances cannot open each other's sealed cookies, so they run with different SESSION_SECRET values", fix: "Give every instance the same SESSION_SECRET (the same list, in the same order)." };
  }
  return {
    cause: "the instances do not find each other's sessions, so each points at its own Redis, key prefix or database, or sessions end before the sign-up is sent",
    fix: `${SHARED_FIX} If they already do, raise SESSION_IDLE_TIMEOUT_SECONDS.`,
  };
}

const storeKey = (s: InstanceSignals) => `${s.store} ${s.target}`;

/**
 * The instances outside the one largest group that shares a store (by kind and fingerprint),
 * or undefined when no single group is largest: then the fingerprints cannot name the odd one.
 */
function outsideLargestGroup(instances: InstanceSignals[]): InstanceSignals[] | undefined {
  const groups = new Map<string, InstanceSignals[]>();
  for (const s of instances) groups.set(storeKey(s), [...(groups.get(storeKey(s)) ?? []), s]);
  if (groups.size < 2) return undefined;
  const sizes = [...groups.values()].map((g) => g.length).sort((a, b) => b - a);
  if (sizes[0] === sizes[1]) return undefined;
  const largest = [...groups.values()].find((g) => g.length === sizes[0])!;
  return instances.filter((s) => !largest.includes(s));
}

/**
 * A code is high on the odd instances and lower on the others. The odd ones are named by the
 * store fingerprints where those differ; otherwise by their share alone. The others need not be
 * at 0%: they fail on the sessions the odd ones began, which a load balancer sends them too.
 */
function judgeCode(code: SignUpCode, instances: InstanceSignals[]): Finding | undefined {
  const eligible = instances.filter((s) => total(s) >= MIN_SIGN_UPS);
  if (!eligible.some((s) => share(s, code) >= HIGH_SHARE && (s.signUps[code] ?? 0) >= MIN_FAILURES)) return undefined;
  const byShare = [...eligible].sort((a, b) => share(b, code) - share(a, code));
  let odd = code === "no_session" ? undefined : outsideLargestGroup(instances)?.filter((s) => eligible.includes(s));
  const others = eligible.filter((s) => !odd?.includes(s));
  if (odd?.length && Math.min(...odd.map((s) => share(s, code))) < Math.max(0, ...others.map((s) => share(s, code)))) odd = undefined;
  if (!odd?.length) {
    const [top, second] = byShare;
    odd = second && share(top!, code) >= STANDS_OUT * share(second, code) ? [top!] : undefined;
  }
  const rest = eligible.filter((s) => !odd?.includes(s));
  if (odd?.length && rest.length) {
    const { cause, fix } = concentratedCause(code, odd, instances.filter((s) => !odd.includes(s)));
    const where = odd.map((s) => `${pct(share(s, code))} of sign-ups on ${s.instance}`).join(" and ");
    return { check: CHECK[code], problem: `\`${code}\` is ${where} and ${range(rest.map((s) => share(s, code)))} elsewhere: ${cause}.`, fix };
  }
  const { cause, fix } = widespreadCause(code, eligible);
  const where = eligible.length === 1 ? `on ${eligible[0]!.instance}, the only instance with ${MIN_SIGN_UPS} sign-ups or more` : `on every instance (${names(eligible.map((s) => s.instance))})`;
  return { check: CHECK[code], problem: `\`${code}\` is ${range(eligible.map((s) => share(s, code)))} of sign-ups ${where}: ${cause}.`, fix };
}

/**
 * Instances of one shared store kind whose store fingerprints differ: the odd ones (outside the
 * one largest group) keep sessions, captchas and challenges somewhere the others do not look.
 * Every instance then fails on what the odd ones began and the odd ones on everything else, so
 * the failures alone, spread over several codes, would not say which one is misconfigured.
 */
/** An instance deployed with another SESSION_SECRET: named outright, whatever codes its failures show. */
function judgeSecrets(instances: InstanceSignals[]): Finding | undefined {
  const known = instances.filter((s) => s.secret !== "");
  const groups = new Map<string, InstanceSignals[]>();
  for (const s of known) groups.set(s.secret, [...(groups.get(s.secret) ?? []), s]);
  if (groups.size < 2) return undefined;
  const sorted = [...groups.values()].sort((a, b) => b.length - a.length);
  const tie = sorted[0]!.length === sorted[1]!.length;
  const odd = tie ? known : sorted.slice(1).flat();
  const who = names(odd.map((s) => s.instance));
  return {
    check: "signals-secret",
    problem: tie
      ? `The instances do not share one SESSION_SECRET (${[...groups.values()].map((g) => names(g.map((s) => s.instance))).join(" against ")}): a cookie, a captcha or a proof of work one side made fails on the other, as session_unknown or pow_invalid "sometimes".`
      : `${who} ${odd.length === 1 ? "seals and signs" : "seal and sign"} with another SESSION_SECRET than the others: cookies, captchas and proofs of work made on one side fail on the other, as session_unknown or pow_invalid "sometimes".`,
    fix: "Give every instance the same SESSION_SECRET (the same list, in the same order, during a rotation).",
  };
}

function judgeTargets(instances: InstanceSignals[]): Finding | undefined {
  const shared = instances.filter((s) => s.store !== "memory" && s.target !== "");
  if (new Set(shared.map((s) => s.store)).size !== 1) return undefined;
  const odd = outsideLargestGroup(shared);
  if (!odd?.length) return undefined;
  const failing = instances.filter((s) => total(s) > 0 && (s.signUps.ok ?? 0) < total(s));
  const failures = failing.length
    ? ` Sign-ups fail on ${names(failing.map((s) => `${s.instance} (${pct(1 - (s.signUps.ok ?? 0) / total(s))})`))}, because what one side began the other cannot find.`
    : "";
  const who = names(odd.map((s) => s.instance));
  const one = odd.length === 1;
  return {
    check: "signals-store-target",
    problem:
      shared[0]!.store === "cookie"
        ? `${who} ${one ? "keeps its" : "keep their"} captchas and challenges in another database than the others (${one ? "its" : "their"} DATABASE_URL fingerprint differs).${failures}`
        : `${who} ${one ? "does" : "do"} not share the session store or the database with the others: ${one ? "its" : "their"} ${shared[0]!.store} store points at another Redis, REDIS_KEY_PREFIX or DATABASE_URL, where users and captchas live (${one ? "its" : "their"} store fingerprint differs).${failures}`,
    fix: SHARED_FIX,
  };
}

const failRate = (s: InstanceSignals) => s.storeCalls.failed / (s.storeCalls.count || 1);
const troubled = (s: InstanceSignals) => (s.storeCalls.failed >= 3 && failRate(s) >= 0.01) || s.unavailableResponses >= 3;

function judgeStoreFailures(instances: InstanceSignals[]): Finding | undefined {
  const bad = instances.filter(troubled);
  if (bad.length === 0) return undefined;
  const good = instances.filter((s) => !bad.includes(s));
  const detail = (s: InstanceSignals) =>
    `${s.instance} (${pct(failRate(s))} of ${s.storeCalls.count} round trips failed; ${s.unavailableResponses} response${s.unavailableResponses === 1 ? " was" : "s were"} \`session_store_unavailable\`)`;
  const goodMax = Math.max(0, ...good.map(failRate));
  const concentrated = good.length > 0 && good.every((s) => s.unavailableResponses === 0) && bad.every((s) => failRate(s) >= FAILURES_STAND_OUT * goodMax);
  if (concentrated) {
    const who = names(bad.map((s) => s.instance));
    const one = bad.length === 1;
    return {
      check: "signals-store-failures",
      problem: `The session store fails on ${names(bad.map(detail))} and ${pct(goodMax)} of round trips elsewhere: ${who} cannot reliably reach ${one ? "its" : "their"} session store, while the others reach theirs.`,
      fix: `Check ${one ? "that instance's" : "those instances'"} network path to the store, ${one ? "its" : "their"} REDIS_URL or DATABASE_URL, and ${one ? "its" : "their"} connection limits (pool size, pooler).`,
    };
  }
  return {
    check: "signals-store-failures",
    problem: `The session store fails on ${instances.length === 1 ? names(bad.map(detail)) : `every instance: ${names(bad.map(detail))}`}: the store itself is failing or overloaded, not one instance's path to it.`,
    fix: "Check the store's health, memory and connection limit (maxclients, max_connections) and the network in front of it.",
  };
}

const MIN_CALLS_FOR_LATENCY = 20;

function judgeLatency(instances: InstanceSignals[]): Finding | undefined {
  const timed = instances.filter((s) => s.storeCalls.okCount >= MIN_CALLS_FOR_LATENCY).map((s) => ({ s, ms: (s.storeCalls.okSeconds / s.storeCalls.okCount) * 1000 }));
  if (timed.length < 2) return undefined;
  timed.sort((a, b) => b.ms - a.ms);
  const [slowest, ...rest] = timed;
  const others = rest.map((r) => r.ms).sort((a, b) => a - b);
  const typical = others[Math.floor(others.length / 2)]!;
  if (slowest!.ms < 5 || slowest!.ms < 5 * typical) return undefined;
  return {
    check: "signals-store-latency",
    problem: `Store round trips take ${slowest!.ms.toFixed(1)} ms on average on ${slowest!.s.instance} and ${typical.toFixed(1)} ms elsewhere: ${slowest!.s.instance} talks to a more distant or a different store.`,
    fix: `Compare ${slowest!.s.instance}'s REDIS_URL or DATABASE_URL with the others', and its network path to the store.`,
  };
}

export function judgeSignals(instances: InstanceSignals[]): SignalsVerdict {
  // The contract's order of checks: a proof that fails is answered before the session is read.
  const codes: SignUpCode[] = ["pow_invalid", "no_session", "session_unknown", "captcha_lost", "captcha_missing"];
  // A differing store fingerprint names the misconfigured instance outright, so it comes first.
  const findings = [judgeSecrets(instances), judgeTargets(instances), ...codes.map((c) => judgeCode(c, instances)), judgeStoreFailures(instances), judgeLatency(instances)].filter(
    (f): f is Finding => f !== undefined,
  );
  if (findings.length) return { findings, summary: findings[0]!.problem };
  if (instances.length === 0) return { findings, summary: "No instance answered with signals, so there is nothing to judge." };
  const who = names(instances.map((s) => s.instance));
  const signUps = instances.reduce((n, s) => n + total(s), 0);
  if (signUps === 0) {
    return { findings, summary: `Nothing stands out on ${who}, but no sign-ups were counted yet: complete a few sign-ups through the site and run the doctor again.` };
  }
  const few = instances.filter((s) => total(s) < MIN_SIGN_UPS);
  if (few.length) {
    return {
      findings,
      summary: `Too few sign-ups to judge on ${names(few.map((s) => s.instance))} (${few.map((s) => total(s)).join(", ")}; ${MIN_SIGN_UPS} per instance are needed): complete more sign-ups through the site and run the doctor again.`,
    };
  }
  const most = (code: SignUpCode) => pct(Math.max(...instances.map((s) => share(s, code))));
  const calls = instances.reduce((n, s) => n + s.storeCalls.count, 0);
  const failed = instances.reduce((n, s) => n + s.storeCalls.failed, 0);
  return {
    findings,
    summary: `Nothing stands out on ${who}: of ${signUps} sign-ups, \`session_unknown\` is at most ${most("session_unknown")}, \`captcha_missing\` at most ${most("captcha_missing")}, \`captcha_lost\` at most ${most("captcha_lost")}, \`no_session\` at most ${most("no_session")} and \`pow_invalid\` at most ${most("pow_invalid")} on any instance, and ${failed} of ${calls} store round trips failed.`,
  };
}
