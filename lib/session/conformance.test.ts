import { randomUUID } from "node:crypto";
import { after } from "node:test";
import { closeTestDb, required, testDb } from "../../testing/services";
import { conformance } from "./conformance";
import { createCachedStore } from "./stores/cached";
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

async function newUserId(): Promise<string> {
  const id = randomUUID();
  await testDb().user.create({ data: { id, username: id, usernameKey: id, email: `${id}@example.test`, passwordHash: "x" } });
  return id;
}

conformance("database", () => {
  const db = testDb();
  const store = createDatabaseStore(db);
  return { store, captchas: store.captchas, countSessions: () => db.session.count(), userId: newUserId };
});

const transports: RedisTransport[] = [];
const openTransports = [
  ["TCP", () => tcpTransport(required("REDIS_URL"))],
  ["REST", () => restTransport(required("UPSTASH_REDIS_REST_URL"), required("UPSTASH_REDIS_REST_TOKEN"))],
] as const;

for (const [kind, open] of openTransports) {
  conformance(`redis over ${kind}`, () => {
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

for (const [kind, open] of openTransports) {
  conformance(`cached over redis ${kind}`, () => {
    const transport = open();
    transports.push(transport);
    const db = testDb();
    const store = createCachedStore(createDatabaseStore(db), createRedisStore(transport, `conformance-${randomUUID()}`));
    // The database holds every session; the cache only copies them.
    return { store, captchas: store.captchas, countSessions: () => db.session.count(), userId: newUserId };
  });
}

after(async () => {
  await closeTestDb();
  await Promise.all(transports.map((t) => t.close()));
});
