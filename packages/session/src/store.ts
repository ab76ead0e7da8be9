/**
 * The seam between the session core and a storage backend.
 *
 * A store never sees a cookie: it turns a record into a token (the cookie's value) and back.
 * For server-side stores the token is an opaque random value and only its hash is kept;
 * the cookie store is the documented exception, whose token is the sealed record itself.
 */

export type SessionData = Record<string, unknown>;

export interface SessionRecord {
  data: SessionData;
  /** The user the session is logged in as, indexed so that all of a user's sessions can be revoked. */
  userId: string | null;
  /** Epoch milliseconds. */
  createdAt: number;
  lastActiveAt: number;
}

export interface SessionStore {
  /** A short name for health checks and messages: "memory", "cookie", "redis", … */
  readonly name: string;
  /** False where a copy of an old cookie stays valid until it expires (sealed cookies). */
  readonly revocable: boolean;
  /** False where sessions live in one process's memory, so other processes cannot see them. */
  readonly shared: boolean;
  /** Stores a new session and returns its token. Never overwrites an existing session. */
  create(record: SessionRecord, expiresAt: number): Promise<string>;
  /** The live session for a token, or null. Never creates anything. */
  read(token: string, now: number): Promise<SessionRecord | null>;
  /**
   * Replaces a live session's record and returns the token to send (the same one, or a new seal).
   * Returns null when the session no longer exists: an update never brings a session back.
   */
  update(token: string, record: SessionRecord, expiresAt: number): Promise<string | null>;
  /**
   * Optional: replaces a live session by a new one under a new token in one step (one round
   * trip where the backend allows), as on login. Without it the core deletes, then creates.
   */
  rotate?(oldToken: string, record: SessionRecord, expiresAt: number): Promise<string>;
  /** Removes a session. Deleting an unknown token is not an error. */
  delete(token: string): Promise<void>;
  /** Removes every session of a user, except the one whose token is given; returns how many. */
  revokeUser?(userId: string, except?: string): Promise<number>;
  /** A real round trip to the backend, for health checks. */
  ping(): Promise<void>;
  /**
   * Optional, for a store with a cache in front of its backend: a round trip to the cache alone.
   * `ping` stays the backend's (the store serves without its cache); this one rejects while the
   * cache is unreachable, so a health check can say the store is degraded rather than hide it.
   */
  pingCache?(): Promise<void>;
}

/** The backend could not be reached or did not answer in time (an HTTP app answers 503). */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
  constructor(
    readonly store: string,
    options?: { cause?: unknown },
  ) {
    super(`the ${store} store is unavailable`, options);
  }
}

/** The session does not fit in a cookie. A programmer error: keep less in the session. */
export class SessionTooLargeError extends Error {
  override name = "SessionTooLargeError";
}
