import { setTimeout as sleep } from "node:timers/promises";
import type { SessionStore } from "@holdfast/session";
import { getChallenge } from "../lib/api/challenge";
import type { RequestContext } from "../lib/api/context";
import type { CaptchaLedger } from "../lib/captcha/ledger";
import { sessionRoute } from "../lib/http/route";
import { powSettings } from "../lib/pow/pow";
import { solveInNode, type ChallengeJson } from "../lib/pow/solve";
import type { RateLimiter } from "../lib/ratelimit/limiter";
import { sessionsOver, type Services } from "../lib/services";

/**
 * An app's services as if its store, ledger and limiter were far away: each call waits
 * `delayMs(kind)` first, and the log says when each began and ended ("read:start", "put:end",
 * "limit loginAccount:start", …), and `call` drives an endpoint over them with a plain Request.
 * Used to see which round trips of a request run side by side (lib/api/overlap.test.ts) and
 * what that saves (bench/overlap.ts).
 */
export type CallKind = "store" | "ledger" | "limiter";
export type Call = (endpoint: (ctx: RequestContext) => Promise<Response>, init?: RequestInit & { cookie?: string }) => Promise<Response>;

/** The `name=value` of a response's session cookie. */
export const cookieOf = (r: Response) => r.headers.getSetCookie()[0]!.split(";")[0]!;

/** A solved proof of work (`altcha`) from GET /api/challenge through `call`. */
export async function solvedProof(call: Call): Promise<string> {
  const challenge = await call((ctx) => getChallenge(ctx, powSettings(ctx.services.config)));
  const solved = solveInNode((await challenge.json()) as ChallengeJson);
  if (!solved) throw new Error("the test-mode challenge was not solvable");
  return solved.payload;
}

export function slowServices(services: Services, delayMs: (kind: CallKind) => number): { services: Services; log: string[]; call: Call } {
  const log: string[] = [];
  const slow = async <T>(kind: CallKind, name: string, work: () => Promise<T>): Promise<T> => {
    log.push(`${name}:start`);
    const ms = delayMs(kind);
    if (ms > 0) await sleep(ms);
    const result = await work();
    log.push(`${name}:end`);
    return result;
  };
  const inner = services.store;
  const store: SessionStore = {
    ...inner,
    read: (token, now) => slow("store", "read", () => inner.read(token, now)),
    create: (record, expiresAt) => slow("store", "create", () => inner.create(record, expiresAt)),
    update: (token, record, expiresAt) => slow("store", "update", () => inner.update(token, record, expiresAt)),
    delete: (token) => slow("store", "delete", () => inner.delete(token)),
    rotate: inner.rotate && ((old, record, expiresAt) => slow("store", "rotate", () => inner.rotate!(old, record, expiresAt))),
  };
  const captchas: CaptchaLedger = {
    put: (id, captcha, ttlMs) => slow("ledger", "put", () => services.captchas.put(id, captcha, ttlMs)),
    take: (id) => slow("ledger", "take", () => services.captchas.take(id)),
  };
  const limiter: RateLimiter = { hit: (key, rule) => slow("limiter", `limit ${key.split(":")[0]}`, () => services.limiter.hit(key, rule)) };
  const wrapped: Services = { ...services, store, captchas, limiter, sessions: sessionsOver(services.config, store) };
  const call: Call = (endpoint, init = {}) => {
    const headers = new Headers(init.headers);
    if (init.cookie) headers.set("cookie", init.cookie);
    if (init.body !== undefined) headers.set("content-type", "application/json");
    return sessionRoute(() => wrapped, endpoint)(new Request("http://holdfast.test/", { ...init, headers }));
  };
  return { services: wrapped, log, call };
}
