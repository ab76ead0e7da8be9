import type { Stack } from "./stack";

/** The store configurations every browser and HTTP suite runs against. */
export interface E2EStore {
  name: string;
  env(stack: Stack): Record<string, string>;
  /** Also proven in the serverless shape: a freshly started instance for every request. */
  serverless?: boolean;
}

export const TEST_SECRET = "holdfast-test-secret-0123456789abcdefghijkl";

// The suites sign up many users from one address; the limits themselves are tested on their own.
const common = { SESSION_SECRET: TEST_SECRET, CAPTCHA_TEST_MODE: "1", RATE_LIMIT_MULTIPLIER: "1000" };

export const E2E_STORES: E2EStore[] = [
  { name: "cookie", serverless: true, env: () => ({ ...common, SESSION_STORE: "cookie" }) },
  { name: "database", env: () => ({ ...common, SESSION_STORE: "database" }) },
  {
    name: "redis-rest",
    serverless: true,
    env: (stack) => ({
      ...common,
      SESSION_STORE: "redis",
      REDIS_URL: "",
      UPSTASH_REDIS_REST_URL: stack.env.UPSTASH_REDIS_REST_URL,
      UPSTASH_REDIS_REST_TOKEN: stack.env.UPSTASH_REDIS_REST_TOKEN,
    }),
  },
  { name: "redis-tcp", env: (stack) => ({ ...common, SESSION_STORE: "redis", REDIS_URL: stack.env.REDIS_URL }) },
  { name: "cached-tcp", env: (stack) => ({ ...common, SESSION_STORE: "cached", REDIS_URL: stack.env.REDIS_URL }) },
];
