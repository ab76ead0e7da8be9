/**
 * What a proof of work costs a bot that solves it natively, beside what it costs in Node (the
 * way lib/pow/solve.ts and the browser's worker hash): the same challenges, at the production
 * counter range of a level, solved both ways in alternating order, CPU time per solve.
 *
 *   npx tsx bench/pow-native.ts [--level normal|accessible] [--challenges 10]
 *
 * The native solver is a short C program over OpenSSL's SHA-256 (its low-level SHA256_Init,
 * _Update and _Final, which use the CPU's SHA instructions where it has them, without the
 * one-shot SHA256()'s per-call lookup), compiled here with `cc -O2 … -lcrypto`: it needs a C compiler
 * and OpenSSL's headers (Debian: gcc, libssl-dev). It prints the counter it found and its own CPU
 * time; the counter is checked against Node's.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { memoryLedger } from "../lib/captcha/ledgers/memory";
import { POW_MAX_NUMBER } from "../lib/pow/costs";
import { issueChallenge } from "../lib/pow/pow";
import { solveInNode, type ChallengeJson } from "../lib/pow/solve";
import { cliOptions } from "./args";

const cli = cliOptions(process.argv.slice(2));
const level = (cli.option("--level") ?? "normal") as "normal" | "accessible";
if (level !== "normal" && level !== "accessible") throw new Error("--level takes normal or accessible");
const count = cli.positive("--challenges", 10);

const SOURCE = `
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static void hex(const char *h, unsigned char *out, size_t n) { for (size_t i = 0; i < n; i++) sscanf(h + 2 * i, "%2hhx", &out[i]); }
int main(int argc, char **argv) {
  /* salt nonce prefix: hex; message = salt || nonce || counter (4 bytes, big-endian) */
  size_t salt = strlen(argv[1]) / 2, nonce = strlen(argv[2]) / 2, prefix = strlen(argv[3]) / 2;
  unsigned char msg[256], want[32], key[32];
  hex(argv[1], msg, salt); hex(argv[2], msg + salt, nonce); hex(argv[3], want, prefix);
  size_t at = salt + nonce;
  clock_t start = clock();
  for (unsigned long c = 0; c <= 0xffffffffUL; c++) {
    msg[at] = c >> 24; msg[at + 1] = c >> 16; msg[at + 2] = c >> 8; msg[at + 3] = c;
    SHA256_CTX ctx; SHA256_Init(&ctx); SHA256_Update(&ctx, msg, at + 4); SHA256_Final(key, &ctx);
    if (memcmp(key, want, prefix) == 0) { printf("%lu %.6f\\n", c, (double)(clock() - start) / CLOCKS_PER_SEC); return 0; }
  }
  return 1;
}
`;

const dir = mkdtempSync(path.join(tmpdir(), "holdfast-pow-native-"));
try {
  writeFileSync(path.join(dir, "solve.c"), SOURCE);
  execFileSync("cc", ["-O2", "-Wno-deprecated-declarations", "-o", path.join(dir, "solve"), path.join(dir, "solve.c"), "-lcrypto"], { stdio: "inherit" });
  const ledger = memoryLedger();
  const node: number[] = [];
  const native: number[] = [];
  for (let i = 0; i < count; i++) {
    const challenge = (await issueChallenge(ledger, { hmacKey: "bench-pow-native-key", maxNumber: POW_MAX_NUMBER[level], ttlMs: 600_000, level })) as unknown as ChallengeJson;
    const { salt, nonce, keyPrefix } = challenge.parameters;
    const runNative = () => {
      const out = spawnSync(path.join(dir, "solve"), [salt, nonce, keyPrefix], { encoding: "utf8" });
      const [counter, cpu] = out.stdout.trim().split(" ").map(Number);
      native.push(cpu! * 1000);
      return counter!;
    };
    const runNode = () => {
      const before = process.cpuUsage();
      const solved = solveInNode(challenge);
      const used = process.cpuUsage(before);
      node.push((used.user + used.system) / 1000);
      return solved!.counter;
    };
    // Alternating order, so the machine's other load falls on both alike.
    const [a, b] = i % 2 === 0 ? [runNode(), runNative()] : [runNative(), runNode()];
    if (a !== b) throw new Error(`the two solvers disagree on challenge ${i}: ${a} against ${b}`);
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
  console.log(
    `proof of work, ${level} level (counter range ${POW_MAX_NUMBER[level].toLocaleString("en")}), ${count} challenges solved both ways: ` +
      `Node ${(sum(node) / count).toFixed(0)} ms of CPU per solve on average (median ${median(node).toFixed(0)}), ` +
      `native ${(sum(native) / count).toFixed(1)} ms (median ${median(native).toFixed(1)}) → native is ${(sum(node) / sum(native)).toFixed(1)}× cheaper`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
