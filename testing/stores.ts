import type { Stack } from "./stack";

/**
 * The one registry of store configurations. Every suite takes its list from here: the unit
 * conformance and ledger tests build each entry's services in process (lib/services.test.ts),
 * the browser, HTTP, cross-instance and security suites run each `e2e` entry behind nginx, and
 * the benchmark measures the entries it names. An entry is the environment a deployment sets.
 */
export interface StoreConfig {
  name: string;
  env(stack: Pick<Stack, "env">): Record<string, string>;
  /** Run by the browser, HTTP, cross-instance and security suites (memory has its own two-instance test). */
  e2e: boolean;
  /** Also proven in the serverless shape: a freshly started instance for every request. */
  serverless?: boolean;
}

export const TEST_SECRET = "holdfast-test-secret-0123456789abcdefghijkl";

// The suites sign up many users from one address; the limits themselves are tested on their own.
// REDIS_CLUSTER_NODES is the stack's too; only the cluster entry sets it (empty counts as unset).
const common = { SESSION_SECRET: TEST_SECRET, CAPTCHA_TEST_MODE: "1", RATE_LIMIT_MULTIPLIER: "1000", REDIS_CLUSTER_NODES: "" };
const rest = (stack: Pick<Stack, "env">) => ({
  REDIS_URL: "",
  UPSTASH_REDIS_REST_URL: stack.env.UPSTASH_REDIS_REST_URL,
  UPSTASH_REDIS_REST_TOKEN: stack.env.UPSTASH_REDIS_REST_TOKEN,
});

export const STORE_CONFIGS: StoreConfig[] = [
  { name: "memory", e2e: false, env: () => ({ ...common, SESSION_STORE: "memory" }) },
  { name: "cookie", e2e: true, serverless: true, env: () => ({ ...common, SESSION_STORE: "cookie" }) },
  { name: "database", e2e: true, env: () => ({ ...common, SESSION_STORE: "database" }) },
  { name: "redis-rest", e2e: true, serverless: true, env: (stack) => ({ ...common, SESSION_STORE: "redis", ...rest(stack) }) },
  { name: "redis-tcp", e2e: true, env: (stack) => ({ ...common, SESSION_STORE: "redis", REDIS_URL: stack.env.REDIS_URL }) },
  {
    name: "redis-cluster",
    e2e: true,
    env: (stack) => ({ ...common, SESSION_STORE: "redis", REDIS_URL: "", UPSTASH_REDIS_REST_URL: "", UPSTASH_REDIS_REST_TOKEN: "", REDIS_CLUSTER_NODES: stack.env.REDIS_CLUSTER_NODES }),
  },
  { name: "cached-tcp", e2e: true, env: (stack) => ({ ...common, SESSION_STORE: "cached", REDIS_URL: stack.env.REDIS_URL }) },
  { name: "cached-rest", e2e: false, env: (stack) => ({ ...common, SESSION_STORE: "cached", ...rest(stack) }) },
];

export const E2E_STORES = STORE_CONFIGS.filter((s) => s.e2e);

export function storeConfig(name: string): StoreConfig {
  const found = STORE_CONFIGS.find((s) => s.name === name);
  if (!found) throw new Error(`no store configuration named ${name} in testing/stores.ts; choose from ${STORE_CONFIGS.map((s) => s.name).join(", ")}`);
  return found;
}
