import { randomBytes } from "node:crypto";
import { errorCode, median, type Probe, type Reply } from "./http";
import { newUser, type Account } from "./sessions";

/**
 * Parts 6 and 8, against a server with the default limits (RATE_LIMIT_MULTIPLIER=1) and the
 * default password hash cost: login timing, then every per-address and per-account limit, each
 * followed by attempts to escape it by claiming another address.
 */

const DEFAULTS = {
  captcha: { limit: 30, periodMs: 60_000 },
  register: { limit: 20, periodMs: 3_600_000 },
  /** Sign-ups without the captcha, on a proof at the accessible level: tighter, on top of `register`. */
  registerAccessible: { limit: 5, periodMs: 3_600_000 },
  login: { limit: 30, periodMs: 300_000 },
  loginAccount: { limit: 10, periodMs: 300_000 },
};

/** Headers a client may send to claim another address, each with a fresh address per use. None may reset a limit. */
const SPOOFS: [string, (n: number) => Record<string, string>][] = [
  ["X-Forwarded-For: <public address>", (n) => ({ "x-forwarded-for": `203.0.113.${n}` })],
  ["X-Forwarded-For: <public>, <public>", (n) => ({ "x-forwarded-for": `198.51.100.${n}, 203.0.113.${100 + n}` })],
  ["X-Forwarded-For: <IPv6 address>", (n) => ({ "x-forwarded-for": `2001:db8::${n.toString(16)}` })],
  ["X-Forwarded-For: <private address>", (n) => ({ "x-forwarded-for": `10.77.0.${n}` })],
  ["X-Real-IP", (n) => ({ "x-real-ip": `203.0.113.${n}` })],
  ["Forwarded: for=", (n) => ({ forwarded: `for=203.0.113.${n}` })],
  ["X-Holdfast-Peer (the app's own header)", (n) => ({ "x-holdfast-peer": `203.0.113.${n}` })],
];
let spoofed = 0;
const spoof = (i: number) => SPOOFS[i % SPOOFS.length]![1](1 + (spoofed++ % 250));

const wrong = () => `wrong-${randomBytes(6).toString("hex")}`;
const nobody = () => `nobody_${randomBytes(6).toString("hex")}`;

/** Requests a GCRA rule lets through from `since` until now: its burst plus what refilled meanwhile. */
const budget = (rule: { limit: number; periodMs: number }, since: number) => rule.limit + Math.floor((Date.now() - since) / (rule.periodMs / rule.limit));

function limitedWell(probe: Probe, label: string, reply: Reply | null): boolean {
  if (!probe.expect(label, reply, { status: 429, codes: ["rate_limited"] })) return false;
  const retry = reply!.headers.get("retry-after") ?? "";
  if (!/^\d+$/.test(retry) || Number(retry) < 1) {
    probe.fail(`${label}: Retry-After is ${JSON.stringify(retry)}, not a number of seconds`);
    return false;
  }
  return true;
}

/**
 * Sends until a 429 arrives; fails when the rule's budget passes without one. The budget is
 * asked anew before each request, since the rule refills while a slow machine sends.
 */
async function untilLimited(probe: Probe, what: string, max: () => number, send: (i: number) => Promise<Reply | null>, ok: (r: Reply) => boolean): Promise<boolean> {
  let i = 1;
  for (; i <= max(); i++) {
    const reply = await send(i);
    if (!reply) return false;
    if (reply.status === 429) return limitedWell(probe, `${what}: the refusal after ${i - 1} allowed`, reply);
    if (!ok(reply)) probe.fail(`${what}: request ${i} → ${reply.status} ${errorCode(reply) ?? ""}`.trim());
  }
  probe.fail(`${what}: no 429 within ${i - 1} requests, the most the default rule allows`);
  return false;
}

/**
 * Once an address is limited, three requests per spoofing header, each claiming a new address,
 * must stay refused. A refill lets one through now and then (GCRA), so an escape is more passes
 * than the rule refilled meanwhile; a passing 2xx is then an unexpected accept.
 */
async function staysLimited(probe: Probe, what: string, rule: { limit: number; periodMs: number }, send: (headers: Record<string, string>) => Promise<Reply | null>): Promise<void> {
  for (const [kind, header] of SPOOFS) {
    const started = Date.now();
    const passed: Reply[] = [];
    for (let i = 0; i < 3; i++) {
      const reply = await send(header(1 + (spoofed++ % 250)));
      if (reply && reply.status !== 429) passed.push(reply);
    }
    const refilled = 1 + Math.floor((Date.now() - started) / (rule.periodMs / rule.limit));
    if (passed.length > refilled) {
      const accepts = passed.filter((r) => r.status >= 200 && r.status < 300).length;
      probe.report.unexpectedAccepts += accepts;
      probe.fail(`${what}: claiming "${kind}" escapes the limit: ${passed.length} of 3 passed (${passed.map((r) => `${r.status} ${errorCode(r) ?? ""}`.trim()).join(", ")})`);
    }
  }
}

export async function loginTiming(probe: Probe, account: Account, log: (line: string) => void): Promise<number> {
  const started = Date.now();
  const attempt = async (label: string, login: string) => {
    const reply = await probe.post(label, "/api/login", { login, password: wrong() });
    probe.expect(label, reply, { status: 401, codes: ["invalid_credentials"] });
    return reply?.ms ?? NaN;
  };
  await attempt("timing: warm-up with an unknown user", nobody());
  const unknown: number[] = [];
  const known: number[] = [];
  // The floor: a request through the same proxy and server that hashes nothing (and spends no
  // rate limit): GET /api/me with no cookie, 401.
  const floor: number[] = [];
  // Alternating and sequential, so drift in the machine's load hits all three alike.
  for (let i = 0; i < 10; i++) {
    unknown.push(await attempt(`timing: unknown user ${i + 1}`, nobody()));
    known.push(await attempt(`timing: wrong password ${i + 1}`, account.username));
    const me = await probe.send(`timing: floor ${i + 1}`, "/api/me");
    probe.expect(`timing: floor ${i + 1}`, me, { status: 401, codes: ["unauthenticated"] });
    floor.push(me?.ms ?? NaN);
  }
  const [u, k, f] = [median(unknown), median(known), median(floor)];
  const ratio = Math.max(u, k) / Math.min(u, k);
  if (!(ratio <= 2)) probe.fail(`login timing: medians differ by a factor of ${ratio.toFixed(2)} (unknown user ${u.toFixed(0)} ms, wrong password ${k.toFixed(0)} ms)`);
  // A wrong password costs the floor, the login's lookups and limits, and one hash. One hash at
  // the default (Argon2id, 19 MiB) took 14.7 ms on a quiet core here (bench/hash-floor.ts), and
  // more under load; at the test cost (1 MiB) under 1 ms.
  if (!(k - f >= 6)) probe.fail(`login timing: a wrong password took ${k.toFixed(0)} ms against ${f.toFixed(0)} ms for a request that hashes nothing, so the hash was cheap and the comparison means nothing`);
  log(`login timing (10 each, alternating): median unknown user ${u.toFixed(0)} ms, wrong password ${k.toFixed(0)} ms, ratio ${ratio.toFixed(2)}; a request that hashes nothing ${f.toFixed(0)} ms`);
  return started;
}

export async function rateLimits(probe: Probe, account: Account, since: { captcha: number; challenge: number; register: number; login: number }, log: (line: string) => void): Promise<void> {
  // Per account: the timing part spent the account's burst; claiming other addresses changes nothing.
  const accountOk = await untilLimited(probe, "login per account (10/5m), each from a claimed new address", () => budget(DEFAULTS.loginAccount, since.login) - 9, (i) =>
    probe.post(`login per account ${i}`, "/api/login", { login: account.username.toUpperCase(), password: wrong() }, { headers: spoof(i) }),
    (r) => r.status === 401,
  );
  if (accountOk) {
    const right = await probe.post("login per account: the right password by username", "/api/login", { login: account.username, password: account.password }, { headers: spoof(0) });
    limitedWell(probe, "login per account: the right password by username once that name is limited", right);
    // The account's other name (its email) keeps its own count: were it limited too, a prober who
    // knows the name could find its email among candidates by which one answers 429.
    const byEmail = await probe.post("login per account: a wrong password by the account's email", "/api/login", { login: account.email, password: wrong() }, { headers: spoof(0) });
    probe.expect("login per account: the limited name's email answers as any address would (the limit links no names)", byEmail, { status: 401, codes: ["invalid_credentials"] });
    const other = await probe.post("login per account: another account", "/api/login", { login: nobody(), password: wrong() });
    probe.expect("login per account: another account from this address is not limited yet", other, { status: 401, codes: ["invalid_credentials"] });
  }

  // Per address: cheap invalid bodies count as much as real attempts (the limit comes before the body).
  const loginOk = await untilLimited(probe, "login per address (30/5m)", () => budget(DEFAULTS.login, since.login), (i) => probe.post(`login per address ${i}`, "/api/login", { login: "" }), (r) => r.status === 400);
  if (loginOk) await staysLimited(probe, "login per address", DEFAULTS.login, (headers) => probe.post("login spoofed", "/api/login", { login: "" }, { headers }));

  const captchaOk = await untilLimited(probe, "captcha per address (30/1m)", () => budget(DEFAULTS.captcha, since.captcha), (i) => probe.send(`captcha per address ${i}`, "/api/captcha"), (r) => r.status === 200);
  if (captchaOk) await staysLimited(probe, "captcha per address", DEFAULTS.captcha, (headers) => probe.send("captcha spoofed", "/api/captcha", { headers }));

  // The path without the captcha image: real sign-ups (no cookie needed), each on a fresh proof at
  // the accessible level, until the tighter per-address limit refuses; nothing spent it before,
  // so the refusal is due one past the budget. No spoofing round here: each attempt also counts
  // against `register`, whose own round follows.
  const accessibleOk = await untilLimited(probe, "register without the captcha on an accessible proof, per address (5/1h)", () => budget(DEFAULTS.registerAccessible, since.register) + 1, async (i) => {
    const user = newUser();
    probe.secret(user.password);
    const altcha = await probe.altcha(`register accessible ${i}: challenge`, "accessible");
    return probe.post(`register accessible ${i}`, "/api/register", { ...user, altcha });
  }, (r) => r.status === 201);

  // The challenge has its own count per address, at the captcha's rule.
  const challengeOk = await untilLimited(probe, "challenge per address (30/1m)", () => budget(DEFAULTS.captcha, since.challenge), (i) => probe.send(`challenge per address ${i}`, "/api/challenge"), (r) => r.status === 200);
  if (challengeOk) await staysLimited(probe, "challenge per address", DEFAULTS.captcha, (headers) => probe.send("challenge spoofed", "/api/challenge", { headers }));

  const registerOk = await untilLimited(probe, "register per address (20/1h)", () => budget(DEFAULTS.register, since.register), (i) => probe.post(`register per address ${i}`, "/api/register", {}), (r) => r.status === 400);
  if (registerOk) await staysLimited(probe, "register per address", DEFAULTS.register, (headers) => probe.post("register spoofed", "/api/register", {}, { headers }));
  const verdict = (ok: boolean) => (ok ? "429 with Retry-After within budget" : "NOT limited as expected");
  log(`rate limits (defaults): login per account ${verdict(accountOk)}; login per address ${verdict(loginOk)}; captcha ${verdict(captchaOk)}; register without the captcha (accessible proof) ${verdict(accessibleOk)}; challenge ${verdict(challengeOk)}; register ${verdict(registerOk)}; then ${SPOOFS.length} address-claiming headers × 3 against each limited one`);
}
