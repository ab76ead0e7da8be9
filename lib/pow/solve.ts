import { createHash } from "node:crypto";

/**
 * Solves a challenge in Node, the way a browser's worker does, for tests, benchmarks and API
 * clients (a test server runs at the minimum cost, so this takes well under a millisecond
 * there). Returns the base64 payload for the `altcha` field.
 */

export interface ChallengeJson {
  parameters: {
    algorithm: string;
    nonce: string;
    salt: string;
    cost: number;
    keyLength: number;
    keyPrefix: string;
    [key: string]: unknown;
  };
  signature?: string;
}

export interface SolvedPayload {
  payload: string;
  counter: number;
  derivedKey: string;
  ms: number;
}

export function solveInNode(challenge: ChallengeJson, options: { maxCounter?: number } = {}): SolvedPayload | null {
  const { algorithm, nonce, salt, cost, keyLength = 32, keyPrefix } = challenge.parameters;
  if (algorithm !== "SHA-256") throw new Error(`unsupported algorithm ${algorithm}`);
  const maxCounter = options.maxCounter ?? 0xffff_ffff;
  const start = performance.now();
  const message = Buffer.concat([Buffer.from(salt, "hex"), Buffer.from(nonce, "hex"), Buffer.alloc(4)]);
  const at = message.length - 4;
  const prefix = keyPrefix.toLowerCase();
  const prefixBytes = prefix.length % 2 === 0 ? Buffer.from(prefix, "hex") : null;
  for (let counter = 0; counter <= maxCounter; counter++) {
    message.writeUInt32BE(counter, at);
    let key = createHash("sha256").update(message).digest();
    for (let i = 1; i < cost; i++) key = createHash("sha256").update(key).digest();
    key = key.subarray(0, keyLength);
    const matches = prefixBytes ? key.subarray(0, prefixBytes.length).equals(prefixBytes) : key.toString("hex").startsWith(prefix);
    if (matches) {
      const derivedKey = key.toString("hex");
      const ms = performance.now() - start;
      const payload = encodePayload(challenge, { counter, derivedKey, time: Math.round(ms) });
      return { payload, counter, derivedKey, ms };
    }
  }
  return null;
}

/** The payload ALTCHA clients send: base64 of `{challenge: {parameters, signature}, solution}`. */
export function encodePayload(challenge: ChallengeJson, solution: { counter: number; derivedKey: string; time?: number }): string {
  const body = { challenge: { parameters: challenge.parameters, signature: challenge.signature }, solution };
  return Buffer.from(JSON.stringify(body)).toString("base64");
}
