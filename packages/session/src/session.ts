import type { SessionData, SessionRecord, SessionStore } from "./store.js";

/** What the request's cookie turned out to be. */
export type SessionState =
  /** No cookie, or an empty one. */
  | "absent"
  /** A cookie that matches no live session: expired, destroyed, tampered, or another process's memory. */
  | "unknown"
  | "live";

/** What the response must do with the cookie. The binding module turns it into a Set-Cookie header. */
export type CookieChange =
  | { kind: "keep" }
  /**
   * `expiresAt`: when the session ends on the server (idle or absolute timeout). `keepUntil`: how
   * long the browser keeps the cookie, which is longer (the idle and the absolute timeout past
   * this write), so that a request after the session ended still carries its cookie and is told
   * the session ended (`unknown`), not that no cookie came (`absent`, which reads as cookies
   * being blocked).
   */
  | { kind: "set"; value: string; expiresAt: number; keepUntil?: number }
  | { kind: "clear" };

/** Browsers keep a cookie at most this long (Chrome caps Max-Age at 400 days). */
const MAX_COOKIE_LIFETIME_MS = 400 * 24 * 60 * 60_000;

export interface SessionOptions {
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  /**
   * The idle timeout of a session no one has logged in to (a visitor's captcha, a form's draft),
   * at most `idleTimeoutMs`; by default the same. Shorter, it keeps a stream of visitors, or of
   * requests made only to be kept, from filling the store for a whole idle timeout each.
   */
  anonymousIdleTimeoutMs?: number;
  now?: () => number;
}

/**
 * One request's view of a session. It loads on first access, writes only when something
 * changed, and is committed once, after the handler ran.
 */
export class Session {
  readonly #store: SessionStore;
  readonly #token: string | undefined;
  readonly #idleMs: number;
  readonly #anonymousIdleMs: number;
  readonly #absoluteMs: number;
  readonly #now: () => number;
  #loading: Promise<void> | undefined;
  /** Whether anything has asked for the session (a prefetch alone does not count). */
  #used = false;
  #state: SessionState = "absent";
  #record: SessionRecord | null = null;
  #data: SessionData = {};
  #userId: string | null = null;
  #modified = false;
  #regenerate = false;
  #destroyed = false;

  constructor(store: SessionStore, token: string | undefined, options: SessionOptions) {
    this.#store = store;
    this.#token = token || undefined;
    this.#idleMs = options.idleTimeoutMs;
    this.#anonymousIdleMs = Math.min(options.anonymousIdleTimeoutMs ?? options.idleTimeoutMs, options.idleTimeoutMs);
    this.#absoluteMs = options.absoluteTimeoutMs;
    this.#now = options.now ?? Date.now;
  }

  get storeName(): string {
    return this.#store.name;
  }

  /** Whether the request carried a cookie at all. Needs no store call. */
  get hasCookie(): boolean {
    return this.#token !== undefined;
  }

  /**
   * Starts reading the session from the store now, so the read overlaps other work of the
   * request (a ledger write, a proof's check). Nothing else changes: a session that is never
   * used afterwards is committed as if unread, and a read that failed throws at the first use,
   * not here.
   */
  prefetch(): void {
    if (this.#loading || this.#token === undefined) return;
    const reading = this.#read();
    // Seen by the first use (#load awaits the same promise); until then it must not count as unhandled.
    reading.catch(() => {});
    this.#loading = reading;
  }

  async state(): Promise<SessionState> {
    await this.#load();
    return this.#state;
  }

  /** When a live session was last written (epoch ms); undefined for any other. */
  async lastActiveAt(): Promise<number | undefined> {
    await this.#load();
    return this.#state === "live" ? this.#record?.lastActiveAt : undefined;
  }

  async get<T = unknown>(key: string): Promise<T | undefined> {
    await this.#load();
    return this.#data[key] as T | undefined;
  }

  async has(key: string): Promise<boolean> {
    await this.#load();
    return Object.hasOwn(this.#data, key);
  }

  async set(key: string, value: unknown): Promise<void> {
    await this.#load();
    this.#data = { ...this.#data, [key]: value };
    this.#modified = true;
  }

  async unset(key: string): Promise<void> {
    await this.#load();
    if (!Object.hasOwn(this.#data, key)) return;
    const rest = { ...this.#data };
    delete rest[key];
    this.#data = rest;
    this.#modified = true;
  }

  async userId(): Promise<string | null> {
    await this.#load();
    return this.#userId;
  }

  /** Logs the session in as a user and issues a new token, so a token known before login is worthless after it. */
  async logIn(userId: string): Promise<void> {
    await this.#load();
    this.#userId = userId;
    this.#modified = true;
    this.#regenerate = true;
  }

  /** Issues a new token for the same data at commit; the old token stops working. */
  async regenerate(): Promise<void> {
    await this.#load();
    this.#regenerate = true;
  }

  /** Removes the session from the store now and clears the cookie at commit. Safe to repeat. */
  async destroy(): Promise<void> {
    if (this.#token !== undefined && !this.#destroyed) await this.#store.delete(this.#token);
    this.#destroyed = true;
    this.#state = this.#token === undefined ? "absent" : "unknown";
    this.#loading = Promise.resolve();
    this.#data = {};
    this.#userId = null;
  }

  /** Revokes every other session of the logged-in user (where the store can). */
  async revokeOtherSessions(): Promise<number> {
    const userId = await this.userId();
    if (!userId || !this.#store.revokeUser) return 0;
    return this.#store.revokeUser(userId, this.#state === "live" ? this.#token : undefined);
  }

  /** Writes what changed and says what the response must do with the cookie. */
  async commit(): Promise<CookieChange> {
    if (this.#destroyed) return this.#token === undefined ? { kind: "keep" } : { kind: "clear" };
    if (!this.#used) return { kind: "keep" };
    await this.#loading;

    const now = this.#now();
    const live = this.#state === "live" && this.#token !== undefined;
    const empty = this.#userId === null && Object.keys(this.#data).length === 0;

    if (this.#regenerate) {
      if (live && !empty && this.#store.rotate) return this.#create(now, this.#token);
      if (live) await this.#store.delete(this.#token!);
      if (empty) return this.#token === undefined ? { kind: "keep" } : { kind: "clear" };
      return this.#create(now);
    }
    if (this.#modified) {
      if (empty) {
        if (live) await this.#store.delete(this.#token!);
        return this.#token === undefined ? { kind: "keep" } : { kind: "clear" };
      }
      return live ? this.#update(now) : this.#create(now);
    }
    // Refreshing the idle clock costs a write, so it happens at most once per touch interval.
    if (live && now - this.#record!.lastActiveAt >= this.#touchIntervalMs(this.#record!)) return this.#update(now);
    return { kind: "keep" };
  }

  async #load(): Promise<void> {
    this.#used = true;
    this.#loading ??= this.#read();
    await this.#loading;
  }

  async #read(): Promise<void> {
    if (this.#token === undefined) return;
    const now = this.#now();
    const record = await this.#store.read(this.#token, now);
    if (!record) {
      this.#state = "unknown";
      return;
    }
    if (now >= this.#expiresAt(record)) {
      // Expired rows are removed when met, so they do not wait for a sweep.
      await this.#store.delete(this.#token);
      this.#state = "unknown";
      return;
    }
    this.#state = "live";
    this.#record = record;
    this.#data = record.data;
    this.#userId = record.userId;
  }

  /** A new session; with `replacing`, the store swaps it for that one in one step. */
  async #create(now: number, replacing?: string): Promise<CookieChange> {
    const record: SessionRecord = { data: this.#data, userId: this.#userId, createdAt: now, lastActiveAt: now };
    const expiresAt = this.#expiresAt(record);
    const value = replacing ? await this.#store.rotate!(replacing, record, expiresAt) : await this.#store.create(record, expiresAt);
    return { kind: "set", value, expiresAt, keepUntil: this.#keepUntil(now) };
  }

  async #update(now: number): Promise<CookieChange> {
    const record: SessionRecord = { ...this.#record!, data: this.#data, userId: this.#userId, lastActiveAt: now };
    const expiresAt = this.#expiresAt(record);
    const value = await this.#store.update(this.#token!, record, expiresAt);
    // Gone since this request read it: destroyed (a logout elsewhere) or rotated (a login in
    // another tab). Never brought back, and the cookie is left alone: a clear sent now could land
    // after the login's new cookie and log the browser out again. A destroyed session's cookie
    // names nothing either way.
    if (value === null) return { kind: "keep" };
    return { kind: "set", value, expiresAt, keepUntil: this.#keepUntil(now) };
  }

  #keepUntil(now: number): number {
    return now + Math.min(this.#idleMs + this.#absoluteMs, MAX_COOKIE_LIFETIME_MS);
  }

  /** The idle timeout that applies to a record: the shorter one until someone logs in. */
  #idleFor(record: SessionRecord): number {
    return record.userId === null ? this.#anonymousIdleMs : this.#idleMs;
  }

  #expiresAt(record: SessionRecord): number {
    return Math.min(record.lastActiveAt + this.#idleFor(record), record.createdAt + this.#absoluteMs);
  }

  #touchIntervalMs(record: SessionRecord): number {
    return Math.min(this.#idleFor(record) / 10, 5 * 60_000);
  }
}
