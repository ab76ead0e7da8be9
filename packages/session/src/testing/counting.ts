import { observeStore, type StoreCall } from "../observe.js";
import type { SessionStore } from "../store.js";

export type { StoreCall } from "../observe.js";

/** Wraps a store and lists its calls in the order they were made: how round trips are measured, by tests and benchmarks alike. */
export function countingStore(store: SessionStore): SessionStore & { calls: StoreCall[]; reset(): void } {
  const calls: StoreCall[] = [];
  return {
    ...observeStore(store, () => {}, (call) => calls.push(call)),
    calls,
    reset: () => void calls.splice(0),
  };
}
