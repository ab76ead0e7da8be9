/**
 * Rate limits with GCRA, the generic cell rate algorithm (as in redis-cell and throttled): one
 * number per key, the theoretical arrival time (TAT) of the next request. A rule of `limit`
 * requests per `periodMs` spaces requests `periodMs / limit` apart and tolerates a burst of
 * `limit`. Unlike a fixed-window counter it has no window edge at which twice the limit passes.
 * The state lives in the shared store (Redis or Postgres), never in one process's memory when
 * several serve.
 */

export interface Rule {
  limit: number;
  periodMs: number;
}

export type Verdict = { ok: true } | { ok: false; retryAfterMs: number };

export interface RateLimiter {
  hit(key: string, rule: Rule): Promise<Verdict>;
}

/** One GCRA step, for backends that keep the state themselves. */
export function gcra(storedTat: number | undefined, now: number, rule: Rule): { verdict: Verdict; tat: number } {
  const interval = rule.periodMs / rule.limit;
  const tat = Math.max(storedTat ?? now, now);
  const next = tat + interval;
  if (next - now > rule.periodMs) return { verdict: { ok: false, retryAfterMs: next - rule.periodMs - now }, tat };
  return { verdict: { ok: true }, tat: next };
}

/** The in-process limiter, for the memory store (one process by definition). */
export function memoryLimiter(now: () => number = Date.now): RateLimiter {
  const tats = new Map<string, number>();
  return {
    async hit(key, rule) {
      const { verdict, tat } = gcra(tats.get(key), now(), rule);
      tats.set(key, tat);
      return verdict;
    },
  };
}
