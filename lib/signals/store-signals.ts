import { observeStore, type SessionStore } from "@holdfast/session";
import type { CaptchaLedger } from "../captcha/ledger";
import { processSignals, type Signals, type StoreOp, type StoreOutcome } from "./registry";

/**
 * Times every round trip of a session store or captcha ledger into the process's registry.
 * A wrapper, as countingStore is, so that no store knows it is measured.
 */

// Matched by name, not by class, so that this module needs no value from the session layer.
function outcomeOf(error: unknown): StoreOutcome {
  return (error as { name?: unknown } | null)?.name === "StoreUnavailableError" ? "unavailable" : "error";
}

function timed<A extends unknown[], R>(
  signals: () => Signals,
  store: string,
  op: StoreOp,
  fn: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  return async (...args) => {
    const start = performance.now();
    try {
      const result = await fn(...args);
      signals().observeStoreCall(store, op, performance.now() - start, "ok");
      return result;
    } catch (error) {
      signals().observeStoreCall(store, op, performance.now() - start, outcomeOf(error));
      throw error;
    }
  };
}

export function withStoreSignals(store: SessionStore, signals: () => Signals = processSignals): SessionStore {
  return observeStore(store, ({ call, ms, error }) => signals().observeStoreCall(store.name, call, ms, error === undefined ? "ok" : outcomeOf(error)));
}

/** `store` names the backend that holds the ledger (the database for the cookie store). */
export function withLedgerSignals(ledger: CaptchaLedger, store: string, signals: () => Signals = processSignals): CaptchaLedger {
  return {
    put: timed(signals, store, "captcha.put", ledger.put.bind(ledger)),
    take: timed(signals, store, "captcha.take", ledger.take.bind(ledger)),
  };
}
