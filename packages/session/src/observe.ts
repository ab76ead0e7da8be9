import type { SessionStore } from "./store.js";

/** A store's operations, as an observer sees them. */
export type StoreCall = "create" | "read" | "update" | "rotate" | "delete" | "revokeUser" | "ping" | "pingCache";

export interface ObservedCall {
  call: StoreCall;
  /** Wall time of the call in milliseconds. */
  ms: number;
  /** What the call threw, if it threw (it is thrown on unchanged). */
  error?: unknown;
}

/**
 * The same store, with every call reported after it ends: for metrics, tracing or counting round
 * trips. `onStart` runs before each call, in call order. The store itself never knows.
 */
export function observeStore(store: SessionStore, onEnd: (observed: ObservedCall) => void, onStart?: (call: StoreCall) => void): SessionStore {
  const wrap =
    <A extends unknown[], R>(call: StoreCall, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      onStart?.(call);
      const start = performance.now();
      try {
        const result = await fn(...args);
        onEnd({ call, ms: performance.now() - start });
        return result;
      } catch (error) {
        onEnd({ call, ms: performance.now() - start, error });
        throw error;
      }
    };
  return {
    name: store.name,
    revocable: store.revocable,
    shared: store.shared,
    create: wrap("create", store.create.bind(store)),
    read: wrap("read", store.read.bind(store)),
    update: wrap("update", store.update.bind(store)),
    delete: wrap("delete", store.delete.bind(store)),
    ...(store.rotate ? { rotate: wrap("rotate", store.rotate.bind(store)) } : {}),
    ...(store.revokeUser ? { revokeUser: wrap("revokeUser", store.revokeUser.bind(store)) } : {}),
    ping: wrap("ping", store.ping.bind(store)),
    ...(store.pingCache ? { pingCache: wrap("pingCache", store.pingCache.bind(store)) } : {}),
  };
}
