import type { SessionRecord, SessionStore } from "../store.js";
import { hashToken, newToken } from "../token.js";

/**
 * Sessions in this process's memory. For tests and a single development server only: a second
 * process cannot see them (`shared: false`), which is the classic "sometimes logged out" bug.
 */
export function createMemoryStore(): SessionStore & { size(): number } {
  const sessions = new Map<string, { record: SessionRecord; expiresAt: number }>();
  const copy = (record: SessionRecord): SessionRecord => structuredClone(record);

  return {
    name: "memory",
    revocable: true,
    shared: false,
    async create(record, expiresAt) {
      const token = newToken();
      sessions.set(hashToken(token), { record: copy(record), expiresAt });
      return token;
    },
    async read(token, now) {
      const key = hashToken(token);
      const entry = sessions.get(key);
      if (!entry) return null;
      if (entry.expiresAt <= now) {
        sessions.delete(key);
        return null;
      }
      return copy(entry.record);
    },
    async update(token, record, expiresAt) {
      const key = hashToken(token);
      if (!sessions.has(key)) return null;
      sessions.set(key, { record: copy(record), expiresAt });
      return token;
    },
    async delete(token) {
      sessions.delete(hashToken(token));
    },
    async revokeUser(userId, except) {
      const keep = except === undefined ? undefined : hashToken(except);
      let count = 0;
      for (const [key, entry] of sessions) {
        if (entry.record.userId === userId && key !== keep) {
          sessions.delete(key);
          count++;
        }
      }
      return count;
    },
    async ping() {},
    size: () => sessions.size,
  };
}
