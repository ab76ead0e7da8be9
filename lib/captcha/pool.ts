import { Worker } from "node:worker_threads";
import { drawCaptcha, type DrawnCaptcha } from "./draw";

/**
 * Captchas drawn ahead, off the request path. Drawing one costs a few milliseconds of CPU; on
 * the request path that is main-thread time every other request waits behind. A worker thread
 * (pool-worker.ts) keeps up to `size` drawn captchas here, and GET /api/captcha takes one.
 *
 * - The answers live in this process's memory only, as they do when drawn inline: the thread
 *   posts them to the pool, the pool hands one to the request, and only its hash goes to the
 *   ledger. Each drawn captcha is handed out once.
 * - An empty pool draws inline, so nothing depends on the thread: a pool of size 0
 *   (CAPTCHA_POOL_SIZE=0), a platform without worker threads, a thread that failed to start or
 *   died, or a burst that drained the pool all fall back to drawing on the request path.
 */

export const DEFAULT_POOL_SIZE = 32;
/**
 * The drawing thread's niceness by default: none. Every captcha served is drawn by someone, and
 * a thread that yields on a busy machine only hands the drawing back to the request path
 * (bench/burst.ts measured nice 10 against 0).
 */
export const DEFAULT_POOL_NICE = 0;

export interface CaptchaPoolOptions {
  /** Captchas kept drawn; 0 turns the pool off. */
  size: number;
  /** The drawing thread's niceness (Linux), 0 for the process's own priority. */
  nice?: number;
  /** Starts the drawing thread; tests pass their own. */
  spawn?: () => Worker;
  /** Told once when the thread cannot start or dies; the pool then draws inline. */
  onError?: (error: unknown) => void;
}

function isDrawn(value: unknown): value is DrawnCaptcha {
  const v = value as Partial<DrawnCaptcha> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.answer === "string" &&
    typeof v.svg === "string"
  );
}

/**
 * The drawing thread. Bundled by Next (`next dev`, `next build`), the literal
 * `new Worker(new URL(…, import.meta.url))` is what makes the bundler compile pool-worker.ts into
 * a chunk of its own and point the URL at it. Run from source under tsx (tests, bench scripts),
 * a Node 20 worker does not inherit tsx's loader: the worker loads its source through tsx's API.
 * (The bundle's import.meta.url still names the .ts source, so it cannot tell the two apart.)
 */
function spawnDrawingThread(nice: number): Worker {
  const workerData = { nice };
  if (process.execArgv.some((arg) => /[/\\]tsx[/\\]|^tsx$/.test(arg))) {
    const source = import.meta.url.replace(/[^/]+$/, "pool-worker.ts");
    const load = `import("tsx/esm/api").then((tsx) => tsx.tsImport(${JSON.stringify(source)}, ${JSON.stringify(import.meta.url)}))`;
    return new Worker(load, { eval: true, workerData });
  }
  return new Worker(new URL("./pool-worker.ts", import.meta.url), { workerData });
}

export class CaptchaPool {
  readonly size: number;
  readonly #spawn: () => Worker;
  readonly #onError: (error: unknown) => void;
  #ready: DrawnCaptcha[] = [];
  /** Asked of the thread and not delivered yet. */
  #pending = 0;
  #worker: Worker | undefined;
  #off = false;

  constructor(options: CaptchaPoolOptions) {
    this.size = Math.max(0, Math.floor(options.size));
    const nice = options.nice ?? DEFAULT_POOL_NICE;
    this.#spawn = options.spawn ?? (() => spawnDrawingThread(nice));
    this.#onError = options.onError ?? (() => {});
    this.#off = this.size === 0;
  }

  /** Captchas ready to hand out. */
  get available(): number {
    return this.#ready.length;
  }

  /** Whether the thread is (still) drawing for the pool. */
  get running(): boolean {
    return !this.#off && this.#worker !== undefined;
  }

  /** A captcha drawn ahead, or one drawn here and now when none is ready. */
  take(): DrawnCaptcha {
    return this.takeReady() ?? drawCaptcha();
  }

  /** A captcha drawn ahead, if one is ready; either way the thread is asked to top the pool up. */
  takeReady(): DrawnCaptcha | undefined {
    const drawn = this.#ready.shift();
    this.fill();
    return drawn;
  }

  /** Asks the thread for as many captchas as the pool lacks (starting it if need be). */
  fill(): void {
    if (this.#off) return;
    const missing = this.size - this.#ready.length - this.#pending;
    if (missing <= 0) return;
    const worker = this.#thread();
    if (!worker) return;
    this.#pending += missing;
    worker.postMessage(missing);
  }

  /** Stops the thread and forgets what was drawn; later takes draw inline. */
  async close(): Promise<void> {
    this.#off = true;
    this.#ready = [];
    this.#pending = 0;
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker) await worker.terminate();
  }

  #thread(): Worker | undefined {
    if (this.#worker) return this.#worker;
    let worker: Worker;
    try {
      worker = this.#spawn();
    } catch (error) {
      this.#fail(error);
      return undefined;
    }
    worker.on("message", (drawn: unknown) => {
      if (this.#worker !== worker) return;
      this.#pending = Math.max(0, this.#pending - 1);
      if (isDrawn(drawn) && this.#ready.length < this.size) this.#ready.push({ answer: drawn.answer, svg: drawn.svg });
    });
    worker.on("error", (error) => {
      if (this.#worker === worker) this.#fail(error);
    });
    worker.on("exit", (code) => {
      if (this.#worker === worker) this.#fail(new Error(`the captcha drawing thread exited with code ${code}`));
    });
    // The pool never keeps a process alive: a server exits as it would without it. After the
    // listeners, since adding a "message" listener refs the thread's port again.
    worker.unref();
    this.#worker = worker;
    return worker;
  }

  #fail(error: unknown): void {
    this.#off = true;
    this.#pending = 0;
    const worker = this.#worker;
    this.#worker = undefined;
    void worker?.terminate();
    this.#onError(error);
  }
}

const GLOBAL_KEY = Symbol.for("holdfast.captchaPool");

/**
 * The process's pool, made on first use. Kept on globalThis so that `next dev` re-evaluating
 * this module does not start a second thread.
 */
export function captchaPool(size = DEFAULT_POOL_SIZE): CaptchaPool {
  const holder = globalThis as { [GLOBAL_KEY]?: CaptchaPool };
  let pool = holder[GLOBAL_KEY];
  if (!pool) {
    pool = new CaptchaPool({
      size,
      onError: (error) => console.warn(`[holdfast] captcha pool off, drawing inline: ${error instanceof Error ? error.message : String(error)}`),
    });
    holder[GLOBAL_KEY] = pool;
  }
  return pool;
}
