import { randomBytes } from "node:crypto";
import { errorCode, type Probe, type Reply } from "./http";
import { newUser } from "./sessions";

/**
 * Parts 3, 4 and 5: a captcha is single-use under replay, brute force and concurrency. Every
 * attempt carries its own valid proof of work, so what is refused is the captcha (the proof's own
 * single use is security/pow.ts's).
 */

const ALPHABET = "ACDEFHJKMNPRTWXY34679";

function wrongAnswers(answer: string, count: number): string[] {
  const out = new Set<string>();
  while (out.size < count) {
    const guess = Array.from(randomBytes(answer.length), (b) => ALPHABET[b % ALPHABET.length]).join("");
    if (guess !== answer.toUpperCase()) out.add(guess);
  }
  return [...out];
}

export function tally(replies: (Reply | null)[]): string {
  const counts = new Map<string, number>();
  for (const r of replies) {
    const key = r ? `${r.status}${errorCode(r) ? ` ${errorCode(r)}` : ""}` : "no response";
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${n}× ${k}`).join(", ");
}

/** One attempt; `altcha` is fetched fresh unless given (the concurrent parts fetch theirs before the race). */
async function register(probe: Probe, label: string, captcha: string, cookie: string, user = newUser(), altcha?: string) {
  probe.secret(user.password);
  const proof = altcha ?? (await probe.altcha(`${label}: challenge`));
  return probe.post(label, "/api/register", { ...user, captcha, altcha: proof }, { cookie });
}

/** `n` proofs, fetched ten at a time before a race starts; null (and a failure) unless all came. */
export async function proofs(probe: Probe, label: string, n: number): Promise<string[] | null> {
  const out: string[] = [];
  for (let i = 0; i < n; i += 10) {
    const batch = await Promise.all(Array.from({ length: Math.min(10, n - i) }, (_, k) => probe.proof(`${label}: challenge ${i + k + 1}`)));
    for (const p of batch) if (p) out.push(p.payload);
  }
  if (out.length !== n) {
    probe.fail(`${label}: only ${out.length} of ${n} proof-of-work challenges were issued`);
    return null;
  }
  return out;
}

/** What a losing request may see once another request used the captcha (and, on server stores, rotated the session). */
const afterUse = (store: string) => (store === "cookie" ? ["captcha_missing"] : ["captcha_missing", "session_unknown"]);

export async function replay(probe: Probe, store: string, log: (line: string) => void): Promise<void> {
  const c = await probe.captcha("replay: captcha");
  if (!c) return;
  const ok = await register(probe, "replay: first use", c.answer, c.cookie);
  if (!probe.expect("replay: the first use of a solved captcha", ok, { status: 201 })) return;
  // The cookie store's old cookie still unseals, so only the server-side ledger stops it; server stores forgot the token.
  const again = await register(probe, "replay: the pre-registration cookie again", c.answer, c.cookie);
  probe.expect("replay: the pre-registration cookie and answer again", again, { status: 400, codes: store === "cookie" ? ["captcha_missing"] : ["session_unknown"] });
  const rotated = await register(probe, "replay: with the post-registration cookie", c.answer, ok!.cookie!);
  probe.expect("replay: the answer again with the post-registration cookie", rotated, { status: 400, codes: ["captcha_missing"] });
  log("captcha replay: a solved captcha's cookie and answer are refused afterwards, with the old and the new cookie");
}

export async function bruteForce(probe: Probe, log: (line: string) => void): Promise<void> {
  const c = await probe.captcha("brute force: captcha");
  if (!c) return;
  let cookie = c.cookie;
  const replies: (Reply | null)[] = [];
  for (const [i, guess] of wrongAnswers(c.answer, 30).entries()) {
    const reply = await register(probe, `brute force: guess ${i + 1}`, guess, cookie);
    replies.push(reply);
    probe.expect(`brute force: wrong guess ${i + 1}`, reply, i === 0 ? { status: 400, codes: ["captcha_invalid"] } : { status: [400, 429], codes: ["captcha_missing", "rate_limited"] });
    cookie = reply?.cookie ?? cookie;
  }
  for (const [what, jar] of [["the session's latest cookie", cookie], ["the captcha's original cookie", c.cookie]] as const) {
    const right = await register(probe, `brute force: right answer with ${what}`, c.answer, jar);
    replies.push(right);
    probe.expect(`brute force: the right answer after 30 wrong ones, with ${what}`, right, { status: [400, 429], codes: ["captcha_missing", "rate_limited"] });
  }
  log(`captcha brute force: ${tally(replies)}`);
}

export async function concurrentEmail(probe: Probe, log: (line: string) => void): Promise<void> {
  const id = randomBytes(4).toString("hex");
  const email = `race.${id}@example.test`;
  const captchas: { answer: string; cookie: string }[] = [];
  for (let i = 0; i < 50; i += 10) {
    const batch = await Promise.all(Array.from({ length: 10 }, (_, k) => probe.captcha(`same email: captcha ${i + k + 1}`)));
    for (const c of batch) if (c) captchas.push(c);
  }
  if (captchas.length !== 50) return probe.fail(`same email: only ${captchas.length} of 50 captchas were issued`);
  const altchas = await proofs(probe, "same email", 50);
  if (!altchas) return;
  // Half of them in upper case: uniqueness is case-insensitive, also under a race.
  const replies = await Promise.all(
    captchas.map((c, i) => register(probe, `same email ${i + 1}`, c.answer, c.cookie, { username: `race_${id}_${i}`, email: i % 2 ? email.toUpperCase() : email, password: `pw-${id}-${i}-race-secret` }, altchas[i])),
  );
  judgeRace(probe, "50 concurrent registrations of one email", replies, { status: 409, codes: ["email_taken"] });
  log(`50 concurrent registrations of one email: ${tally(replies)}`);
}

export async function concurrentCaptcha(probe: Probe, store: string, log: (line: string) => void): Promise<void> {
  const c = await probe.captcha("same captcha: captcha");
  const altchas = await proofs(probe, "same captcha", 50);
  if (!c || !altchas) return;
  const replies = await Promise.all(altchas.map((altcha, i) => register(probe, `same captcha ${i + 1}`, c.answer, c.cookie, newUser(), altcha)));
  judgeRace(probe, "50 concurrent uses of one captcha", replies, { status: 400, codes: afterUse(store) });
  log(`50 concurrent uses of one captcha: ${tally(replies)} (losers may see: ${afterUse(store).join(", ")})`);
}

/** Exactly one 201; every other reply as `losers`; every extra 201 is an unexpected accept. */
export function judgeRace(probe: Probe, label: string, replies: (Reply | null)[], losers: { status: number; codes: string[] }): void {
  const winners = replies.filter((r) => r?.status === 201).length;
  if (winners !== 1) probe.fail(`${label}: ${winners} succeeded, expected exactly 1`);
  if (winners > 1) probe.report.unexpectedAccepts += winners - 1;
  for (const [i, r] of replies.entries()) if (r?.status !== 201) probe.expect(`${label}: request ${i + 1}`, r, losers);
}
