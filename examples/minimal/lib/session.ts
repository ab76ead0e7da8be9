import { createSessions, type Sessions } from "@holdfast/session";
import { nextSessions } from "@holdfast/session/next";
import { tcpTransport } from "@holdfast/session/redis/tcp";
import { createRedisStore } from "@holdfast/session/stores/redis";

/**
 * The app's one session setup: sessions in Redis over TCP, configured by REDIS_URL. It is made
 * at the first request, not at import, so `next build` needs no Redis.
 */
function createAppSessions(): Sessions {
  const url = process.env.REDIS_URL;
  if (!url) {
    throw new Error("REDIS_URL is not set: start the example with REDIS_URL=redis://host:port (see examples/minimal/README.md).");
  }
  return createSessions({
    store: createRedisStore(tcpTransport(url), { prefix: "minimal" }),
    cookie: { name: "minimal_sid" },
  });
}

let sessions: Sessions | undefined;

export const { route, read, getSession, withSession } = nextSessions(() => (sessions ??= createAppSessions()));
