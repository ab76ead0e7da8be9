"use client";

import { useCallback, useEffect, useState, useSyncExternalStore } from "react";
import { ProofOfWork, type PowLevel, type PowOptions, type PowResult, type PowSnapshot } from "./pow";

export type { PowLevel, PowProof, PowResult, PowSnapshot } from "./pow";
export { FETCH_MEASURE, POW_FAILED, SOLVE_MEASURE } from "./pow";

const SERVER_SNAPSHOT: PowSnapshot = { status: "idle", proof: null, code: null, lastSolveMs: null };

/**
 * Proof of work for a form, solved in the background from mount on, in Web Workers.
 *
 *   const pow = useProofOfWork();                      // or useProofOfWork({ level: "accessible" })
 *   …
 *   const proof = await pow.take();                    // waits if the solve is still running
 *   if (!proof.ok) return showError(proof.code);       // rate_limited, network_error, pow_failed, …
 *   await postJson("/api/register", { ...fields, altcha: proof.proof.payload });
 *
 * `take()` hands out the ready proof and starts the next at once (the server spends a proof on
 * any attempt). `status`, `lastSolveMs` and `proof` are there to render (a hidden `altcha` input
 * for a plain form post, a "working…" hint); none of it is needed to use `take()`.
 */
export function useProofOfWork(options: Omit<PowOptions, "signal" | "level"> & { level?: PowLevel } = {}): PowSnapshot & {
  take: () => Promise<PowResult>;
  /** Ends the work for good (the form it served is done); a later `take()` starts it again. */
  stop: () => void;
} {
  const { level = "normal", endpoint, workerUrl, concurrency, timeoutMs } = options;
  const [pow] = useState(() => new ProofOfWork({ level, endpoint, workerUrl, concurrency, timeoutMs }));
  const snapshot = useSyncExternalStore(pow.subscribe, pow.getSnapshot, () => SERVER_SNAPSHOT);

  useEffect(() => {
    pow.start();
    return () => pow.stop();
  }, [pow]);

  useEffect(() => {
    pow.setLevel(level);
  }, [pow, level]);

  const take = useCallback(() => pow.take(), [pow]);
  const stop = useCallback(() => pow.stop(), [pow]);
  return { ...snapshot, take, stop };
}
