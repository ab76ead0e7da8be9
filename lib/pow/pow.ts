import { createHash, createHmac, randomInt, timingSafeEqual } from "node:crypto";
import { createChallenge, type Challenge } from "altcha-lib";
import { deriveKey } from "altcha-lib/algorithms/sha";
import { SPENT, type CaptchaLedger } from "../captcha/ledger";
import { derivedKeys } from "../secret-keys";
import { POW_MAX_NUMBER } from "./costs";

/**
 * Proof of work in ALTCHA's published format (v2, the `altcha-lib` default), single-use
 * across instances through the captcha ledger.
 *
 * A challenge is ALTCHA's deterministic mode with SHA-256: the server picks a secret counter
 * uniformly in [0, maxNumber], publishes the first 16 bytes of SHA-256(salt ‖ nonce ‖ counter)
 * as `keyPrefix`, and signs an HMAC of the full key (`keySignature`) and an HMAC of all the
 * parameters (`signature`, which covers `expiresAt`, `data.level` and the cost). A client
 * finds the counter by trying 0, 1, 2, … (maxNumber / 2 hashes on average); the server checks
 * an answer with two HMACs, one hash (the counter's key, which must be the key sent) and one
 * ledger take, whatever the cost.
 *
 * Single use: issuing puts a record under `pow:<nonce>` in the ledger; verifying takes it
 * (atomic on every store), so of any number of attempts with one challenge, on any instance,
 * at most one finds the record. A challenge is consumed by any attempt whose signature is
 * ours, right or wrong.
 */

export type PowLevel = "normal" | "accessible";
export const POW_LEVELS: readonly PowLevel[] = ["normal", "accessible"];

export type PowVerdict = "ok" | "pow_invalid";
/**
 * Why a payload was refused: for logs and tests; the client only ever sees `pow_invalid`.
 * `unknown`: authentic and unexpired, but the ledger holds no record of it, spent or not (another
 * ledger issued it, or it evicted it).
 */
export type PowReason = "malformed" | "forged" | "reused" | "unknown" | "expired" | "wrong";
export type PowCheck = { verdict: "ok"; level: PowLevel } | { verdict: "pow_invalid"; reason: PowReason };

/**
 * Counter ranges (ALTCHA v1's `maxNumber`): a solver needs maxNumber / 2 SHA-256 hashes at the
 * median and maxNumber at worst; the counter is uniform over [0, maxNumber]. Chosen with
 * `tsx bench/pow.ts --browser` (headless Chromium on the project's 2-core machine, the real
 * client and public/pow-worker.js in 2 workers): `normal` solved in p50 0.77 s, p90 1.3 s,
 * max 1.4 s with the machine's load average at 5–7 from other work; at a load of 9–12 the
 * browser still managed 0.8 M counters/s, i.e. ≈ 1.25 s at the median. crypto.subtle would
 * manage 0.03–0.1 M/s, which is why the worker hashes in plain JavaScript.
 */
export { POW_MAX_NUMBER };

/** Long enough to fill in the form after the (background) solve; the client fetches anew before it runs out. */
export const POW_TTL_MS = 10 * 60_000;

/** ALTCHA's uint32 counter mode: the largest counter a solver can encode. */
const MAX_COUNTER = 0xffff_ffff;
/** A genuine payload is ~700 base64 characters; anything far larger is refused before decoding. */
const MAX_PAYLOAD_CHARS = 4096;
const LEDGER_PREFIX = "pow:";
const ALGORITHM = "SHA-256";

export interface IssueOptions {
  /** The signing key; derive it with `powKeys` rather than using a session secret as is. */
  hmacKey: string;
  /** Counter range: the work is uniform in [0, maxNumber] hashes. Integer 1 … 2^32 - 1. */
  maxNumber: number;
  ttlMs: number;
  /** Signed into the challenge as `data.level`, so the verifier can tell which cost was paid. */
  level?: PowLevel;
  now?: number;
}

export interface VerifyOptions {
  /** One key, or several (the first signs, all verify) for rotation, as SESSION_SECRET does. */
  hmacKey: string | readonly string[];
  now?: number;
}

/**
 * The two HMAC secrets ALTCHA wants (`hmacSignatureSecret`, `hmacKeySignatureSecret`), derived
 * from one key so that neither serves two ends. Exported for interoperability: altcha-lib's own
 * `verifySolution` accepts our payloads with these.
 */
export function altchaSecrets(hmacKey: string): { signature: string; keySignature: string } {
  const derive = (label: string) => createHmac("sha256", hmacKey).update(label).digest("hex");
  return { signature: derive("altcha challenge signature"), keySignature: derive("altcha key signature") };
}

const secretCache = new Map<string, { signature: string; keySignature: string }>();
function secrets(hmacKey: string) {
  let s = secretCache.get(hmacKey);
  if (!s) {
    s = altchaSecrets(hmacKey);
    if (secretCache.size > 16) secretCache.clear();
    secretCache.set(hmacKey, s);
  }
  return s;
}

const ledgerId = (nonce: string) => `${LEDGER_PREFIX}${nonce}`;
/** What the ledger keeps: binds its record to this exact signed challenge. */
const fingerprint = (signature: string) => createHash("sha256").update(`pow:${signature}`).digest("hex");

/**
 * A new challenge, recorded in the ledger for single use. The JSON to send as is:
 * `{ parameters: { algorithm, cost, data: { level }, expiresAt, keyLength, keyPrefix,
 * keySignature, nonce, salt }, signature }`.
 */
export async function issueChallenge(ledger: CaptchaLedger, options: IssueOptions): Promise<Challenge> {
  const { hmacKey, maxNumber, ttlMs, level = "normal" } = options;
  if (!Number.isInteger(maxNumber) || maxNumber < 1 || maxNumber > MAX_COUNTER) {
    throw new RangeError(`maxNumber must be an integer from 1 to ${MAX_COUNTER}`);
  }
  if (!(ttlMs >= 1000)) throw new RangeError("ttlMs must be at least 1000");
  const now = options.now ?? Date.now();
  const expiresAtMs = now + ttlMs;
  const s = secrets(hmacKey);
  const counter = randomInt(0, maxNumber + 1);
  // altcha-lib makes the parameters (nonce, salt, the key prefix for the counter) but signs
  // through WebCrypto, at several times node:crypto's CPU per HMAC; the same two HMACs are made
  // here, exactly as `checkProof` and altcha-lib's `verifySolution` check them.
  const { parameters } = await createChallenge({ algorithm: ALGORITHM, cost: 1, counter, deriveKey, data: { level }, expiresAt: Math.floor(expiresAtMs / 1000) });
  const { derivedKey } = await deriveKey(parameters, Buffer.from(parameters.salt, "hex"), counterMessage(parameters.nonce, counter));
  const signed = { ...parameters, keySignature: hmacHex(s.keySignature, Buffer.from(derivedKey)) };
  const challenge: Challenge = { parameters: sortKeys(signed) as Challenge["parameters"], signature: hmacHex(s.signature, canonicalJSON(signed)) };
  const { nonce } = challenge.parameters;
  await ledger.put(ledgerId(nonce), { answerHash: fingerprint(challenge.signature!), expiresAt: expiresAtMs }, ttlMs);
  return challenge;
}

/** "ok" or "pow_invalid". Never throws on client input; a store outage throws (fail closed, 503). */
export async function verifyProof(ledger: CaptchaLedger, payload: unknown, options: VerifyOptions): Promise<PowVerdict> {
  return (await checkProof(ledger, payload, options)).verdict;
}

/** `verifyProof` with the level that was paid for, or the reason for a refusal. */
export async function checkProof(ledger: CaptchaLedger, payload: unknown, options: VerifyOptions): Promise<PowCheck> {
  const parsed = parsePayload(payload);
  if (!parsed) return refuse("malformed");
  const { parameters, signature, derivedKey } = parsed;

  const keys = typeof options.hmacKey === "string" ? [options.hmacKey] : options.hmacKey;
  const canonical = canonicalJSON(parameters);
  const key = keys.find((k) => sameHex(signature, hmacHex(secrets(k).signature, canonical)));
  if (key === undefined) return refuse("forged");

  // Authentic from here on: consume it, whatever comes next.
  const nonce = parameters.nonce as string;
  const record = await ledger.take(ledgerId(nonce));
  const now = options.now ?? Date.now();
  const expired = (parameters.expiresAt as number) * 1000 <= now;
  if (record === null || record === SPENT) return refuse(expired ? "expired" : record === SPENT ? "reused" : "unknown");
  if (!sameHex(record.answerHash, fingerprint(signature))) return refuse("reused");
  if (expired || record.expiresAt <= now) return refuse("expired");

  // The key signature is an HMAC of the full derived key, which only the right counter yields;
  // and the counter sent must be the one that yields it (a proof is its counter and its key).
  const keyHmac = hmacHex(secrets(key).keySignature, Buffer.from(derivedKey, "hex"));
  if (!sameHex(parameters.keySignature as string, keyHmac)) return refuse("wrong");
  const yielded = await deriveKey(parameters as unknown as Parameters<typeof deriveKey>[0], Buffer.from(String(parameters.salt), "hex"), counterMessage(nonce, parsed.counter));
  if (!sameHex(Buffer.from(yielded.derivedKey).toString("hex"), derivedKey)) return refuse("wrong");

  const level = (parameters.data as { level?: unknown } | undefined)?.level;
  return { verdict: "ok", level: level === "accessible" ? "accessible" : "normal" };
}

function refuse(reason: PowReason): PowCheck {
  return { verdict: "pow_invalid", reason };
}

interface ParsedPayload {
  parameters: Record<string, unknown>;
  signature: string;
  counter: number;
  derivedKey: string;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const HEX32 = /^[0-9a-f]{32}$/;
const HEX64 = /^[0-9a-f]{64}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The base64 payload ALTCHA clients send, or null for anything that is not exactly its shape. */
export function parsePayload(payload: unknown): ParsedPayload | null {
  if (typeof payload !== "string" || payload.length === 0 || payload.length > MAX_PAYLOAD_CHARS) return null;
  if (payload.length % 4 !== 0 || !BASE64.test(payload)) return null;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(payload, "base64").toString("utf8"));
  } catch {
    return null;
  }
  if (!isRecord(decoded) || !isRecord(decoded.challenge) || !isRecord(decoded.solution)) return null;
  const { parameters, signature } = decoded.challenge;
  const { counter, derivedKey } = decoded.solution;
  if (!isRecord(parameters) || typeof signature !== "string" || !HEX64.test(signature)) return null;
  if (typeof counter !== "number" || !Number.isInteger(counter) || counter < 0 || counter > MAX_COUNTER) return null;
  if (typeof derivedKey !== "string" || !HEX64.test(derivedKey)) return null;
  // What the verifier relies on; the signature vouches for everything else.
  if (parameters.algorithm !== ALGORITHM) return null;
  if (typeof parameters.nonce !== "string" || !HEX32.test(parameters.nonce)) return null;
  if (typeof parameters.keySignature !== "string" || !HEX64.test(parameters.keySignature)) return null;
  if (typeof parameters.expiresAt !== "number" || !Number.isFinite(parameters.expiresAt) || parameters.expiresAt <= 0) return null;
  if (parameters.data !== undefined && !isRecord(parameters.data)) return null;
  return { parameters, signature, counter, derivedKey };
}

/** ALTCHA's canonical form: keys sorted at every depth, undefined dropped (altcha-lib's sortKeys). */
function sortKeys(value: unknown): unknown {
  if (!isRecord(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .flatMap((k) => (value[k] === undefined ? [] : [[k, sortKeys(value[k])]])),
  );
}

function canonicalJSON(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

/** ALTCHA's password in its `uint32` counter mode: the nonce's bytes, then the counter as 4 big-endian bytes. */
function counterMessage(nonceHex: string, counter: number): Buffer {
  const nonce = Buffer.from(nonceHex, "hex");
  const message = Buffer.alloc(nonce.length + 4);
  nonce.copy(message);
  message.writeUInt32BE(counter, nonce.length);
  return message;
}

function hmacHex(secret: string, data: string | Buffer): string {
  return createHmac("sha256", secret).update(data).digest("hex");
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** The HMAC keys for proof of work from SESSION_SECRET's list: the first signs, all verify. Derived once per secret. */
export function powKeys(sessionSecrets: readonly string[]): string[] {
  return derivedKeys(sessionSecrets, "holdfast proof-of-work key v1");
}

export interface PowSettings {
  /** First signs, all verify. */
  hmacKeys: string[];
  ttlMs: number;
  maxNumber: Record<PowLevel, number>;
}

/**
 * Everything the endpoint and the register check need, from the configuration fields that exist
 * today. `overrides` is where future env variables (POW_MAX_NUMBER, …) plug in.
 */
export function powSettings(
  config: { secrets: readonly string[]; captchaTestMode: boolean; powMaxNumber?: Partial<Record<PowLevel, number | undefined>> },
  overrides: { maxNumber?: Partial<Record<PowLevel, number>>; ttlMs?: number } = {},
): PowSettings {
  const base: Record<PowLevel, number> = config.captchaTestMode
    ? { normal: POW_MAX_NUMBER.test, accessible: POW_MAX_NUMBER.test }
    : { normal: POW_MAX_NUMBER.normal, accessible: POW_MAX_NUMBER.accessible };
  const configured = Object.fromEntries(Object.entries(config.powMaxNumber ?? {}).filter(([, v]) => v !== undefined)) as Partial<Record<PowLevel, number>>;
  return {
    hmacKeys: powKeys(config.secrets),
    ttlMs: overrides.ttlMs ?? POW_TTL_MS,
    maxNumber: { ...base, ...configured, ...overrides.maxNumber },
  };
}

/** The level a payload claims, read without verifying it (verification checks the signed level). */
export function claimedLevel(payload: unknown): PowLevel | null {
  const parsed = parsePayload(payload);
  if (!parsed) return null;
  return (parsed.parameters.data as { level?: unknown } | undefined)?.level === "accessible" ? "accessible" : "normal";
}
