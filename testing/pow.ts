import type { APIRequestContext } from "@playwright/test";
import { solveInNode, type ChallengeJson } from "../lib/pow/solve";

/**
 * Proofs of work for test, security and bench clients of POST /api/register, which requires the
 * `altcha` field (ALTCHA's base64 payload). Test servers run with CAPTCHA_TEST_MODE=1, where a
 * challenge costs at most 1000 hashes: solving one here takes a few milliseconds. A challenge is
 * single-use (consumed by any attempt that carries it), so every attempt needs its own proof
 * unless a test is about reusing one.
 */

export type ProofLevel = "normal" | "accessible";

/** The path of GET /api/challenge for a level. */
export function challengePath(level: ProofLevel = "normal"): string {
  return level === "accessible" ? "/api/challenge?level=accessible" : "/api/challenge";
}

function isChallenge(value: unknown): value is ChallengeJson {
  const p = (value as { parameters?: Record<string, unknown> } | null)?.parameters;
  return (
    typeof p === "object" &&
    p !== null &&
    typeof p.algorithm === "string" &&
    typeof p.nonce === "string" &&
    typeof p.salt === "string" &&
    typeof p.keyPrefix === "string" &&
    typeof (value as { signature?: unknown }).signature === "string"
  );
}

/** Parses a challenge's JSON text (what GET /api/challenge answers); throws with `where` when it is none. */
export function parseChallenge(text: string, where = "GET /api/challenge"): ChallengeJson {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${where}: the body is not JSON: ${text.slice(0, 300)}`);
  }
  if (!isChallenge(json)) throw new Error(`${where}: the body is not an ALTCHA challenge: ${text.slice(0, 300)}`);
  return json;
}

export interface Proof {
  /** What goes into the `altcha` field. */
  payload: string;
  /** The challenge it answers, for tests that take payloads apart. */
  challenge: ChallengeJson;
  counter: number;
  derivedKey: string;
}

/** A challenge's JSON text solved into a Proof. */
export function proofFrom(text: string, where = "GET /api/challenge"): Proof {
  const challenge = parseChallenge(text, where);
  const solved = solveInNode(challenge, { maxCounter: 50_000_000 });
  if (!solved) throw new Error(`${where}: no counter solves the challenge (keyPrefix ${challenge.parameters.keyPrefix})`);
  return { payload: solved.payload, challenge, counter: solved.counter, derivedKey: solved.derivedKey };
}

/** Fetches `${base}/api/challenge` and solves it: the whole Proof. */
export async function fetchProof(base: string, level: ProofLevel = "normal", headers: Record<string, string> = {}): Promise<Proof> {
  const url = `${base}${challengePath(level)}`;
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
    text = await response.text();
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new Error(`GET ${url} failed: ${cause}`);
  }
  if (response.status !== 200) throw new Error(`GET ${url} → ${response.status}, not 200: ${text.slice(0, 300)}`);
  return proofFrom(text, `GET ${url}`);
}

/** Fetches `${base}/api/challenge` (at `level`), solves it, and returns the payload for the `altcha` field. */
export async function proof(base: string, level: ProofLevel = "normal", headers: Record<string, string> = {}): Promise<string> {
  return (await fetchProof(base, level, headers)).payload;
}

/** The same through a Playwright APIRequestContext (its baseURL, its cookie jar, which a challenge leaves alone). */
export async function apiProof(request: APIRequestContext, level: ProofLevel = "normal", headers: Record<string, string> = {}): Promise<string> {
  const path = challengePath(level);
  const response = await request.get(path, { headers });
  const text = await response.text();
  if (response.status() !== 200) throw new Error(`GET ${path} → ${response.status()}, not 200: ${text.slice(0, 300)}`);
  return proofFrom(text, `GET ${path}`).payload;
}

/** The payload decoded: what an ALTCHA client sends, as an object to take apart. */
export interface DecodedPayload {
  challenge: { parameters: Record<string, unknown>; signature: string };
  solution: { counter: number; derivedKey: string; time?: number };
}

export function decodePayload(payload: string): DecodedPayload {
  return JSON.parse(Buffer.from(payload, "base64").toString("utf8")) as DecodedPayload;
}

/** Any object encoded as a payload is, base64 of its JSON (for forged, spliced and tampered payloads). */
export function encodeRaw(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64");
}
