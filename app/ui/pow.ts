import { ANSWER_TIMEOUT_MS } from "./api";
import { NETWORK_ERROR, UNEXPECTED_RESPONSE } from "./messages";

/**
 * The browser side of the proof of work, free of React and of any markup: fetch a challenge
 * from GET /api/challenge, solve it off the main thread in Web Workers (public/pow-worker.js,
 * which speaks altcha's worker protocol), and encode the base64 payload ALTCHA clients send as
 * the `altcha` field.
 *
 * Every solve is also recorded as a User Timing measure, so an end-to-end test can read the
 * times without knowing the form's markup:
 *   performance.getEntriesByName("holdfast:pow-solve")  → duration = ms spent solving
 *   performance.getEntriesByName("holdfast:pow-fetch")  → duration = ms spent fetching
 * (each with `detail: { level, counter, workers }`).
 */

export type PowLevel = "normal" | "accessible";

/** The code this module reports when no worker could solve the challenge; the API's own codes pass through. */
export const POW_FAILED = "pow_failed";

export const SOLVE_MEASURE = "holdfast:pow-solve";
export const FETCH_MEASURE = "holdfast:pow-fetch";

export interface PowChallenge {
  parameters: { algorithm: string; expiresAt?: number; [key: string]: unknown };
  signature?: string;
}

export interface PowSolution {
  counter: number;
  derivedKey: string;
  time?: number;
}

export interface PowProof {
  /** The value of the `altcha` field. Single use: the server spends it on any attempt. */
  payload: string;
  level: PowLevel;
  /** Epoch ms, on this device's clock, after which the server refuses it. */
  expiresAt: number;
  fetchMs: number;
  solveMs: number;
  counter: number;
  workers: number;
}

export type PowResult = { ok: true; proof: PowProof } | { ok: false; code: string };

export interface PowOptions {
  level?: PowLevel;
  /** Default `/api/challenge`. */
  endpoint?: string;
  /** Default `/pow-worker.js`. */
  workerUrl?: string;
  /** Workers to run; default the cores the browser reports, 1 to 4. */
  concurrency?: number;
  /** Give up after this long; default 120 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const DEFAULT_ENDPOINT = "/api/challenge";
const DEFAULT_WORKER = "/pow-worker.js";
const DEFAULT_TIMEOUT_MS = 120_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function defaultConcurrency(): number {
  const cores = typeof navigator !== "undefined" ? navigator.hardwareConcurrency : 0;
  return Math.min(4, Math.max(1, Number.isInteger(cores) ? cores : 1));
}

/** GET the challenge; never throws except on abort. */
export async function fetchChallenge(
  options: Pick<PowOptions, "level" | "endpoint" | "signal"> = {},
): Promise<{ ok: true; challenge: PowChallenge; serverAheadMs: number } | { ok: false; code: string }> {
  const url = `${options.endpoint ?? DEFAULT_ENDPOINT}${options.level === "accessible" ? "?level=accessible" : ""}`;
  let response: Response;
  // A challenge that never comes is a failure to report, not a wait without end.
  const timeout = AbortSignal.timeout(ANSWER_TIMEOUT_MS);
  const signal = options.signal && typeof AbortSignal.any === "function" ? AbortSignal.any([options.signal, timeout]) : (options.signal ?? timeout);
  try {
    response = await fetch(url, { credentials: "same-origin", cache: "no-store", headers: { accept: "application/json" }, signal });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    return { ok: false, code: NETWORK_ERROR };
  }
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const code = isRecord(body) && isRecord(body.error) && typeof body.error.code === "string" ? body.error.code : UNEXPECTED_RESPONSE;
    return { ok: false, code };
  }
  if (!isRecord(body) || !isRecord(body.parameters) || typeof body.parameters.algorithm !== "string") {
    return { ok: false, code: UNEXPECTED_RESPONSE };
  }
  return { ok: true, challenge: body as unknown as PowChallenge, serverAheadMs: serverAhead(response) };
}

/**
 * How far the server's clock is ahead of this device's (negative: behind), from the answer's
 * Date header, to the second. A challenge's expiry is the server's time: a device whose clock is
 * wrong by minutes would otherwise think every challenge stale (and solve new ones forever) or
 * send expired ones. 0 without a usable Date header.
 */
export function serverAhead(response: Pick<Response, "headers">, now = Date.now()): number {
  const date = Date.parse(response.headers.get("date") ?? "");
  return Number.isFinite(date) ? date - now : 0;
}

/**
 * Solves in `concurrency` workers, each trying every concurrency-th counter; the first answer
 * wins and every worker is terminated. Null when aborted or timed out; rejects when a worker
 * cannot run or reports an error.
 */
export function solveChallenge(
  challenge: PowChallenge,
  options: Pick<PowOptions, "workerUrl" | "concurrency" | "timeoutMs" | "signal"> = {},
): Promise<PowSolution | null> {
  const concurrency = Math.max(1, Math.min(16, options.concurrency ?? defaultConcurrency()));
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise<PowSolution | null>((resolve, reject) => {
    const workers: Worker[] = [];
    let pending = concurrency;
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      for (const w of workers) w.terminate();
      outcome();
    };
    const onAbort = () => finish(() => resolve(null));
    const timer = setTimeout(() => finish(() => resolve(null)), timeoutMs);
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener("abort", onAbort);
    try {
      for (let i = 0; i < concurrency; i++) {
        const worker = new Worker(options.workerUrl ?? DEFAULT_WORKER);
        workers.push(worker);
        worker.onerror = (event) => finish(() => reject(new Error(event.message || "the proof-of-work worker failed")));
        worker.onmessage = (event: MessageEvent<unknown>) => {
          const data = event.data;
          if (isRecord(data) && typeof data.error === "string") return finish(() => reject(new Error(data.error as string)));
          if (isRecord(data) && typeof data.counter === "number" && typeof data.derivedKey === "string") {
            const solution: PowSolution = { counter: data.counter, derivedKey: data.derivedKey, time: Number(data.time) || 0 };
            return finish(() => resolve(solution));
          }
          // null: this worker's share of the counters held no answer.
          if (--pending === 0) finish(() => resolve(null));
        };
        worker.postMessage({ type: "work", challenge, counterStart: i, counterStep: concurrency, timeout: timeoutMs });
      }
    } catch (error) {
      finish(() => reject(error));
    }
  });
}

/** The payload ALTCHA clients send: base64 of `{challenge: {parameters, signature}, solution}`. */
export function encodePayload(challenge: PowChallenge, solution: PowSolution): string {
  // All hex and numbers: plain ASCII, which is what btoa takes.
  return btoa(JSON.stringify({ challenge: { parameters: challenge.parameters, signature: challenge.signature }, solution }));
}

function measure(name: string, start: number, end: number, detail: Record<string, unknown>) {
  try {
    performance.measure(name, { start, end, detail });
  } catch {
    // User Timing is a nicety for tests; a browser without it still gets its proof.
  }
}

/** Fetch, solve, encode: one proof. Never throws except on abort (then `{ok: false, code: "aborted"}`). */
export async function proveWork(options: PowOptions = {}): Promise<PowResult> {
  const level = options.level ?? "normal";
  const concurrency = Math.max(1, Math.min(16, options.concurrency ?? defaultConcurrency()));
  const t0 = performance.now();
  let fetched;
  try {
    fetched = await fetchChallenge({ ...options, level });
  } catch {
    return { ok: false, code: "aborted" };
  }
  if (!fetched.ok) return fetched;
  const { challenge, serverAheadMs } = fetched;
  const t1 = performance.now();
  let solution: PowSolution | null;
  try {
    solution = await solveChallenge(challenge, { ...options, concurrency });
  } catch {
    return { ok: false, code: POW_FAILED };
  }
  const t2 = performance.now();
  if (options.signal?.aborted) return { ok: false, code: "aborted" };
  if (!solution) return { ok: false, code: POW_FAILED };
  const detail = { level, counter: solution.counter, workers: concurrency };
  measure(FETCH_MEASURE, t0, t1, detail);
  measure(SOLVE_MEASURE, t1, t2, detail);
  const expiresAtSeconds = Number(challenge.parameters.expiresAt);
  return {
    ok: true,
    proof: {
      payload: encodePayload(challenge, solution),
      level,
      // On this device's clock.
      expiresAt: Number.isFinite(expiresAtSeconds) && expiresAtSeconds > 0 ? expiresAtSeconds * 1000 - serverAheadMs : Date.now() + 60_000,
      fetchMs: t1 - t0,
      solveMs: t2 - t1,
      counter: solution.counter,
      workers: concurrency,
    },
  };
}

export type PowStatus = "idle" | "solving" | "ready" | "error";

export interface PowSnapshot {
  status: PowStatus;
  /** The proof waiting to be used, when `ready`. */
  proof: PowProof | null;
  /** The error code, when `error`: an API code (`rate_limited`, …), `network_error`, `unexpected_response` or `pow_failed`. */
  code: string | null;
  /** The last finished solve, kept after its proof was taken: for display and tests. */
  lastSolveMs: number | null;
}

/** A proof is handed out only while it has this long left to live. */
const FRESH_FOR_MS = 30_000;

/**
 * Keeps one solved proof ready, in the background. `take()` hands it out (waiting for the solve
 * if needed) and at once starts on the next one, since the server spends a proof on any attempt,
 * right or wrong. A proof about to expire is replaced before anyone asks for it.
 *
 * Subscribable for React's useSyncExternalStore (`subscribe`, `getSnapshot`); `stop()` ends the
 * work and `start()` resumes, so it survives StrictMode's double effects.
 */
export class ProofOfWork {
  private options: PowOptions;
  private snapshot: PowSnapshot = { status: "idle", proof: null, code: null, lastSolveMs: null };
  private listeners = new Set<() => void>();
  private controller: AbortController | null = null;
  private current: Promise<void> | null = null;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private running = false;

  constructor(options: Omit<PowOptions, "signal"> = {}) {
    this.options = options;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): PowSnapshot => this.snapshot;

  /** Starts solving in the background unless a proof is ready or on its way. */
  start(): void {
    this.running = true;
    if (this.snapshot.status === "idle" || this.snapshot.status === "error" || !this.fresh()) this.begin();
  }

  /** Stops any work and timers; what is ready stays ready. */
  stop(): void {
    this.running = false;
    clearTimeout(this.refreshTimer);
    this.controller?.abort();
    this.controller = null;
    this.current = null;
    if (this.snapshot.status === "solving") this.set({ status: "idle" });
  }

  /** Another level: drops what was ready and solves anew. */
  setLevel(level: PowLevel): void {
    if ((this.options.level ?? "normal") === level) return;
    this.options = { ...this.options, level };
    this.set({ status: "idle", proof: null });
    if (this.running) this.begin();
  }

  /** The payload for the `altcha` field, waiting for the solve if needed; then starts the next. */
  async take(): Promise<PowResult> {
    this.running = true;
    for (let round = 0; round < 3; round++) {
      if (this.snapshot.status === "ready" && this.fresh()) {
        const proof = this.snapshot.proof!;
        this.set({ status: "idle", proof: null });
        this.begin();
        return { ok: true, proof };
      }
      if (this.snapshot.status !== "solving" || !this.current) this.begin();
      await this.current;
      if (this.snapshot.status === "error") return { ok: false, code: this.snapshot.code ?? POW_FAILED };
    }
    return { ok: false, code: POW_FAILED };
  }

  private fresh(): boolean {
    const proof = this.snapshot.proof;
    return proof !== null && proof.expiresAt - Date.now() > FRESH_FOR_MS;
  }

  private begin(): void {
    clearTimeout(this.refreshTimer);
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.set({ status: "solving", proof: null, code: null });
    this.current = proveWork({ ...this.options, signal: controller.signal }).then((result) => {
      if (this.controller !== controller) return; // superseded or stopped
      this.controller = null;
      if (!result.ok) {
        this.set({ status: "error", code: result.code });
        return;
      }
      this.set({ status: "ready", proof: result.proof, lastSolveMs: result.proof.solveMs });
      // Solve a new one before this one goes stale, so a slow typist still submits a live proof.
      // A proof that is stale already (a challenge shorter-lived than that) is never refreshed in a
      // loop: the next submit starts a new solve.
      const refreshIn = result.proof.expiresAt - Date.now() - FRESH_FOR_MS - 5_000;
      if (this.running && refreshIn > 0) this.refreshTimer = setTimeout(() => this.begin(), refreshIn);
    });
  }

  private set(change: Partial<PowSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...change };
    for (const listener of this.listeners) listener();
  }
}
