import type { SessionStore } from "../store.js";

export type StoreCall = "create" | "read" | "update" | "rotate" | "delete" | "revokeUser" | "ping";

/** Wraps a store and counts its calls: how round trips are measured, by tests and benchmarks alike. */
export function countingStore(store: SessionStore): SessionStore & { calls: StoreCall[]; reset(): void } {
  const calls: StoreCall[] = [];
  const counted = <A extends unknown[], R>(name: StoreCall, fn: (...args: A) => Promise<R>) =>
    (...args: A) => {
      calls.push(name);
      return fn(...args);
    };
  return {
    name: store.name,
    revocable: store.revocable,
    shared: store.shared,
    create: counted("create", store.create.bind(store)),
    read: counted("read", store.read.bind(store)),
    update: counted("update", store.update.bind(store)),
    delete: counted("delete", store.delete.bind(store)),
    ...(store.revokeUser ? { revokeUser: counted("revokeUser", store.revokeUser.bind(store)) } : {}),
    ...(store.rotate ? { rotate: counted("rotate", store.rotate.bind(store)) } : {}),
    ping: counted("ping", store.ping.bind(store)),
    calls,
    reset: () => void calls.splice(0),
  };
}
