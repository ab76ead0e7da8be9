/**
 * `npx tsx bench/form-parse.ts`: what reading a url-encoded form costs through `readBody`
 * (lib/http/request.ts: URLSearchParams, plus the check that what the escapes spell is UTF-8)
 * against URLSearchParams alone, side by side in one run, for an ordinary login form and for
 * 16 KiB bodies a client can send to an endpoint with no rate limit (logout): thousands of short
 * pairs, valid escapes above ASCII, and escapes that are no UTF-8. Prints milliseconds per body
 * (median of 5 alternating rounds) and the ratio.
 */
import { readBody } from "../lib/http/request";
import { median } from "./stats";

const BODIES: Record<string, string> = {
  "a login form": "login=someone%40example.com&password=a-long-password&next=%2Fpassword",
  "16 KiB of `a&`": "a&".repeat(8192),
  "16 KiB of `=&`": "=&".repeat(8192),
  "16 KiB of `x=%C3%A9&`": "x=%C3%A9&".repeat(1820),
  "16 KiB of `%FF&`": "%FF&".repeat(4096),
};
const ROUNDS = 5;

const request = (body: string) => new Request("http://bench.test/api/logout", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body });

/** Milliseconds per call of `run` over enough calls to take about 100 ms. */
async function perCall(run: () => unknown): Promise<number> {
  let calls = 1;
  for (;;) {
    const started = performance.now();
    for (let i = 0; i < calls; i++) await run();
    const elapsed = performance.now() - started;
    if (elapsed > 100) return elapsed / calls;
    calls *= 2;
  }
}

console.log("| body | readBody ms | URLSearchParams alone ms | ratio |");
console.log("|---|---:|---:|---:|");
for (const [label, body] of Object.entries(BODIES)) {
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const a = () => readBody(request(body));
    const b = () => Object.fromEntries(new URLSearchParams(body));
    // Alternating which goes first, so neither always runs on a warmer machine.
    if (round % 2 === 0) {
      ours.push(await perCall(a));
      theirs.push(await perCall(b));
    } else {
      theirs.push(await perCall(b));
      ours.push(await perCall(a));
    }
  }
  const [x, y] = [median(ours), median(theirs)];
  console.log(`| ${label} | ${x.toFixed(3)} | ${y.toFixed(3)} | ${(x / y).toFixed(2)}× |`);
}
console.log("\n(readBody also builds the Request's body stream and reads it, which URLSearchParams alone does not.)");
