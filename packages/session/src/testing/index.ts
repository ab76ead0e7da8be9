/**
 * For store authors: the conformance suite every store passes (run under `node --test`) and a
 * wrapper that counts a store's calls, which is how round trips per request are measured.
 */
export { storeConformance, type StoreFixture } from "./conformance.js";
export { countingStore, type StoreCall } from "./counting.js";
