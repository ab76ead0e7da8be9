import { randomUUID } from "node:crypto";
import { after } from "node:test";
import { storeConformance } from "@holdfast/session/testing";
import type { RedisTransport } from "@holdfast/session/redis";
import { tcpTransport } from "@holdfast/session/redis/tcp";
import { closeTestDb, required, testDb } from "../testing/services";
import { STORE_CONFIGS } from "../testing/stores";
import { parseConfig } from "./env";
import { createServices, type Services } from "./services";

/**
 * The package's conformance suite against every store configuration of testing/stores.ts, each
 * built as the app builds it (the composition root, from the environment a deployment sets).
 */

const stack = {
  env: {
    DATABASE_URL: required("DATABASE_URL"),
    REDIS_URL: required("REDIS_URL"),
    UPSTASH_REDIS_REST_URL: required("UPSTASH_REDIS_REST_URL"),
    UPSTASH_REDIS_REST_TOKEN: required("UPSTASH_REDIS_REST_TOKEN"),
    REDIS_CLUSTER_NODES: required("REDIS_CLUSTER_NODES"),
  },
};
const opened: Services[] = [];

/** The services of one configuration, on a key prefix of their own. */
function servicesFor(env: Record<string, string>): Services {
  const prefix = `conf-${randomUUID().slice(0, 8)}`;
  const services = createServices(parseConfig({ ...stack.env, ...env, REDIS_KEY_PREFIX: prefix }));
  opened.push(services);
  return services;
}

/** Keys matching a pattern on a cluster: KEYS on each primary (a replica holds copies). */
async function clusterKeys(pattern: string): Promise<number> {
  let total = 0;
  for (const node of required("REDIS_CLUSTER_NODES").split(",")) {
    const direct = tcpTransport(`redis://${node}`);
    try {
      const role = (await direct.send(["ROLE"])) as [string];
      if (role[0] === "master") total += ((await direct.send(["KEYS", pattern])) as string[]).length;
    } finally {
      await direct.close();
    }
  }
  return total;
}

async function newUserId(): Promise<string> {
  const id = randomUUID();
  await testDb().user.create({ data: { id, username: id, usernameKey: id, email: `${id}@example.test`, passwordHash: "x" } });
  return id;
}

for (const entry of STORE_CONFIGS) {
  storeConformance(entry.name, () => {
    const services = servicesFor(entry.env(stack));
    const { store, config } = services;
    const redis = (store as { transport?: RedisTransport }).transport;
    const countSessions =
      config.store === "database" || config.store === "cached"
        ? () => testDb().session.count()
        : config.redis?.transport === "cluster"
          ? () => clusterKeys(`${config.redis!.prefix}:sess:*`)
          : redis
          ? async () => ((await redis.send(["KEYS", `${config.redis!.prefix}:sess:*`])) as string[]).length
          : config.store === "memory"
            ? async () => (store as unknown as { size(): number }).size()
            : undefined;
    // Where sessions reference the users table, a user must exist first.
    const userId = config.store === "database" || config.store === "cached" ? newUserId : undefined;
    return { store, countSessions, userId };
  });
}

after(async () => {
  for (const services of opened) await services.close();
  await closeTestDb();
});
