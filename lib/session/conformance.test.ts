import { randomUUID } from "node:crypto";
import { after } from "node:test";
import { closeTestDb, required, testDb } from "../../testing/services";
import { conformance } from "./conformance";
import { createCookieStore } from "./stores/cookie";
import { createDatabaseStore } from "./stores/database";
import { createMemoryStore } from "./stores/memory";
import { createRedisStore } from "./stores/redis";
import { restTransport } from "./stores/redis-rest";
import { tcpTransport } from "./stores/redis-tcp";
import type { RedisTransport } from "./stores/redis-transport";

const SECRET = "conformance-secret-0123456789-abcdefghij";

conformance("memory", () => {
  const store = createMemoryStore();
  return { store, captchas: store.captchas, countSessions: async () => store.size() };
});

conformance("cookie", () => ({
  store: createCookieStore({ secrets: [SECRET], cookieName: "s", ttlSeconds: 86_400 * 365 }),
  captchas: createMemoryStore().captchas,
}));

conformance("database", () => {
  const db = testDb();
  const store = createDatabaseStore(db);
  return {
    store,
    captchas: store.captchas,
    countSessions: () => db.session.count(),
    userId: async () => {
      const id = randomUUID();
      await db.user.create({ data: { id, username: id, usernameKey: id, email: `${id}@example.test`, passwordHash: "x" } });
      return id;
    },
  };
});

const transports: RedisTransport[] = [];

for (const [label, open] of [
  ["redis over TCP", () => tcpTransport(required("REDIS_URL"))],
  ["redis over REST", () => restTransport(required("UPSTASH_REDIS_REST_URL"), required("UPSTASH_REDIS_REST_TOKEN"))],
] as const) {
  conformance(label, () => {
    const transport = open();
    transports.push(transport);
    const prefix = `conformance-${randomUUID()}`;
    const store = createRedisStore(transport, prefix);
    return {
      store,
      captchas: store.captchas,
      countSessions: async () => ((await transport.send(["KEYS", `${prefix}:sess:*`])) as string[]).length,
    };
  });
}

after(async () => {
  await closeTestDb();
  await Promise.all(transports.map((t) => t.close()));
});
