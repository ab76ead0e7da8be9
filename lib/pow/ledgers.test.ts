import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { closeTestDb, required, testDb } from "../../testing/services";
import type { CaptchaLedger } from "../captcha/ledger";
import { memoryLedger } from "../captcha/ledgers/memory";
import { postgresLedger } from "../captcha/ledgers/postgres";
import { redisLedger } from "../captcha/ledgers/redis";
import { restTransport } from "@holdfast/session/redis/rest";
import { tcpTransport } from "@holdfast/session/redis/tcp";
import type { RedisTransport } from "@holdfast/session/redis";
import { checkProof, issueChallenge } from "./pow";
import { solveInNode, type ChallengeJson } from "./solve";

/**
 * Single use of a proof holds on every ledger a store configuration uses (Postgres for
 * `cookie` and `database`, Redis over TCP and REST for `redis` and `cached`), and across
 * instances: two ledgers over one backend stand for two processes.
 */

const KEY = "pow-ledger-key-0123456789-0123456789";
const transports: RedisTransport[] = [];

const LEDGERS: [string, () => CaptchaLedger][] = [
  ["memory", () => memoryLedger()],
  ["postgres", () => postgresLedger(testDb())],
  ...(["TCP", "REST"] as const).map((kind): [string, () => CaptchaLedger] => [
    `redis over ${kind}`,
    () => {
      const transport = kind === "TCP" ? tcpTransport(required("REDIS_URL")) : restTransport(required("UPSTASH_REDIS_REST_URL"), required("UPSTASH_REDIS_REST_TOKEN"));
      transports.push(transport);
      return redisLedger(transport, "pow-ledger-test");
    },
  ]),
];

async function solvedOn(ledger: CaptchaLedger, ttlMs = 60_000) {
  const challenge = (await issueChallenge(ledger, { hmacKey: KEY, maxNumber: 300, ttlMs })) as ChallengeJson;
  const solution = solveInNode(challenge);
  assert.ok(solution);
  return { challenge, payload: solution.payload };
}

const verdict = async (ledger: CaptchaLedger, payload: string, now?: number) => {
  const check = await checkProof(ledger, payload, { hmacKey: KEY, now });
  return check.verdict === "ok" ? "ok" : check.reason;
};

after(async () => {
  await closeTestDb();
  await Promise.all(transports.map((t) => t.close()));
});

for (const [name, open] of LEDGERS) {
  describe(`proof of work on the ${name} ledger`, () => {
    it("issued by one instance, spent once by another; the replay on either is refused", async () => {
      const issuer = open();
      const other = name === "memory" ? issuer : open();
      const { payload } = await solvedOn(issuer);
      assert.equal(await verdict(other, payload), "ok");
      assert.equal(await verdict(other, payload), "reused");
      assert.equal(await verdict(issuer, payload), "reused");
    });

    it("twenty concurrent attempts with one payload: exactly one passes", async () => {
      const ledger = open();
      const { payload } = await solvedOn(ledger);
      const results = await Promise.all(Array.from({ length: 20 }, () => verdict(name === "memory" ? ledger : open(), payload)));
      assert.equal(results.filter((r) => r === "ok").length, 1);
      assert.ok(results.every((r) => r === "ok" || r === "reused"), results.join(","));
    });

    it("expired, forged and spliced payloads are refused", async () => {
      const ledger = open();
      const a = await solvedOn(ledger, 5_000);
      const expiresAtMs = (a.challenge.parameters.expiresAt as number) * 1000;
      assert.equal(await verdict(ledger, a.payload, expiresAtMs + 1), "expired");

      const b = await solvedOn(ledger);
      const c = await solvedOn(ledger);
      const decoded = (p: string) => JSON.parse(Buffer.from(p, "base64").toString("utf8"));
      const encode = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64");
      const forged = decoded(b.payload);
      forged.challenge.signature = forged.challenge.signature.replace(/^./, (ch: string) => (ch === "a" ? "b" : "a"));
      assert.equal(await verdict(ledger, encode(forged)), "forged");
      const spliced = { ...decoded(c.payload), solution: decoded(b.payload).solution };
      assert.notEqual(await verdict(ledger, encode(spliced)), "ok");
      // The genuine payload whose solution was borrowed is still good once.
      assert.equal(await verdict(ledger, b.payload), "ok");
    });

    it("ids are not shared with captchas: a captcha id equal to the nonce takes nothing of the proof", async () => {
      const ledger = open();
      const { challenge, payload } = await solvedOn(ledger);
      // A captcha id that happens to equal the proof's nonce takes nothing of the proof's record.
      assert.equal(await ledger.take(String(challenge.parameters.nonce)), null);
      assert.equal(await verdict(ledger, payload), "ok");
    });
  });
}
