/**
 * What one password hash costs on each side, one hash at a time, rounds alternating (Django,
 * Holdfast, Holdfast, Django, …) so the machine's other load hits both alike:
 * - Django: its own hashers through /usr/bin/python3 (PBKDF2PasswordHasher, Django's default,
 *   and MD5PasswordHasher, what the peer's BENCH_FAST_HASH=1 selects);
 * - Holdfast: lib/password.ts `hashPassword` at the default cost (Argon2id 19 MiB, t = 2) and at
 *   the benchmark's lowest (1 MiB).
 * With `--scrypt`, also Holdfast's former default, scrypt N = 2^17 (lib/password.ts
 * `hashPasswordScrypt`, still verified and upgraded at login), in the same rounds: the before
 * and after of making Argon2id the default.
 * The ratio PBKDF2 ÷ Argon2id 19 MiB bounds the default-hash comparison of bench/peer.ts: a
 * sign-up does one hash on each side, so on the same cores Holdfast cannot be more times faster
 * than its hash is cheaper, whatever else it saves.
 *
 *   npx tsx bench/hash-floor.ts [--rounds 5] [--hashes 10] [--scrypt]
 */
import { spawnSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import { SECURE_PASSWORD_HASH_COST } from "../lib/env";
import { hashPassword, hashPasswordScrypt } from "../lib/password";
import { BENCH_HASH_COST } from "./servers";
import { ms, ratio } from "./stats";

export interface HashFloor {
  rounds: number;
  hashesPerRound: number;
  /** Median ms per hash over all rounds (each round's mean per hash). */
  djangoPbkdf2Ms: number;
  djangoMd5Ms: number;
  holdfastDefaultMs: number;
  holdfastBenchMs: number;
  /** PBKDF2 ÷ Argon2id at the default cost. */
  defaultRatio: number;
  /** With `--scrypt`: the former default, scrypt N = 2^17, in the same rounds. */
  holdfastScryptMs?: number;
}

/** scrypt's cost as the former default wrote it: N = 2^17. */
const FORMER_SCRYPT_LN = 17;

const PYTHON = `
import json, sys, time
from django.conf import settings
settings.configure()
from django.contrib.auth.hashers import PBKDF2PasswordHasher, MD5PasswordHasher
n = int(sys.argv[1])
out = {}
for name, h in (("pbkdf2", PBKDF2PasswordHasher()), ("md5", MD5PasswordHasher())):
    t0 = time.perf_counter()
    for i in range(n):
        h.encode("password-%d" % i, h.salt())
    out[name] = (time.perf_counter() - t0) * 1000 / n
print(json.dumps(out))
`;

function django(hashes: number): { pbkdf2: number; md5: number } {
  const r = spawnSync("/usr/bin/python3", ["-c", PYTHON, String(hashes)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`python3 (Django's hashers): ${r.stderr.slice(0, 300)}`);
  return JSON.parse(r.stdout) as { pbkdf2: number; md5: number };
}

async function holdfast(hashes: number, cost: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < hashes; i++) await hashPassword(`password-${i}`, cost);
  return (performance.now() - t0) / hashes;
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function formerScrypt(hashes: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < hashes; i++) await hashPasswordScrypt(`password-${i}`, FORMER_SCRYPT_LN);
  return (performance.now() - t0) / hashes;
}

export async function hashFloor(rounds = 5, hashes = 10, withScrypt = false): Promise<HashFloor> {
  const d: { pbkdf2: number; md5: number }[] = [];
  const h: { def: number; bench: number; scrypt?: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    const runDjango = () => d.push(django(hashes));
    const runHoldfast = async () => {
      const def = await holdfast(hashes, SECURE_PASSWORD_HASH_COST);
      const scrypt = withScrypt ? await formerScrypt(hashes) : undefined;
      h.push({ def, bench: await holdfast(hashes, BENCH_HASH_COST), ...(scrypt === undefined ? {} : { scrypt }) });
    };
    if (round % 2 === 0) {
      runDjango();
      await runHoldfast();
    } else {
      await runHoldfast();
      runDjango();
    }
  }
  const djangoPbkdf2Ms = median(d.map((x) => x.pbkdf2));
  const holdfastDefaultMs = median(h.map((x) => x.def));
  return {
    rounds,
    hashesPerRound: hashes,
    djangoPbkdf2Ms,
    djangoMd5Ms: median(d.map((x) => x.md5)),
    holdfastDefaultMs,
    holdfastBenchMs: median(h.map((x) => x.bench)),
    defaultRatio: djangoPbkdf2Ms / holdfastDefaultMs,
    ...(withScrypt ? { holdfastScryptMs: median(h.map((x) => x.scrypt!)) } : {}),
  };
}

export function hashFloorLine(f: HashFloor): string {
  return `one hash at a time (medians of ${f.rounds} alternating rounds × ${f.hashesPerRound}): Django PBKDF2 ${ms(f.djangoPbkdf2Ms)} ms, Holdfast Argon2id ${SECURE_PASSWORD_HASH_COST} MiB ${ms(f.holdfastDefaultMs)} ms → PBKDF2 ÷ Argon2id ${ratio(f.defaultRatio)} (the most the default-hash comparison can reach); fast: Django MD5 ${ms(f.djangoMd5Ms)} ms, Holdfast Argon2id ${BENCH_HASH_COST} MiB ${ms(f.holdfastBenchMs)} ms${
    f.holdfastScryptMs === undefined
      ? ""
      : `; Holdfast's former default, scrypt N=2^${FORMER_SCRYPT_LN}, ${ms(f.holdfastScryptMs)} ms → scrypt ÷ Argon2id ${ratio(f.holdfastScryptMs / f.holdfastDefaultMs)}`
  }`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const arg = (name: string, fallback: number) => {
    const i = process.argv.indexOf(name);
    return i === -1 ? fallback : Number(process.argv[i + 1]);
  };
  hashFloor(arg("--rounds", 5), arg("--hashes", 10), process.argv.includes("--scrypt")).then(
    (f) => console.log(`hash floor · ${hashFloorLine(f)}`),
    (error: Error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
