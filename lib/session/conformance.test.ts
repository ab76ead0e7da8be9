import { randomUUID } from "node:crypto";
import { after } from "node:test";
import { closeTestDb, testDb } from "../../testing/services";
import { conformance } from "./conformance";
import { createCookieStore } from "./stores/cookie";
import { createDatabaseStore } from "./stores/database";
import { createMemoryStore } from "./stores/memory";

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

after(closeTestDb);
