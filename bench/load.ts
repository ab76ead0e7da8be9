/**
 * A closed-loop load generator: C virtual users, each starting its next iteration as soon as the
 * last one finished, for a fixed duration (after a warm-up whose samples are dropped) or until
 * an iteration budget runs out. It runs in its own process (`startLoadWorker()` forks this file),
 * so it does not share an event loop with the servers or the services it measures.
 *
 * node:http with a keep-alive Agent rather than fetch: on a 2-core machine every cycle the client
 * spends is taken from the server under test, and node:http costs about half of fetch per
 * request. Each sign-up flow carries its own cookie jar; connections are shared, as a browser
 * population behind one proxy would share them.
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import http from "node:http";
import zlib from "node:zlib";
import { fileURLToPath } from "node:url";
import { proofFrom } from "../testing/pow";
import { summarize, type Summary } from "./stats";

export type Scenario =
  /** GET one path, optionally with a fixed cookie. */
  | { kind: "get"; path: string; cookie?: string; expect?: number }
  /**
   * GET /api/challenge (solved here, as a browser's worker would: at CAPTCHA_TEST_MODE's cost a
   * few milliseconds of this process's CPU, inside the iteration's time), GET /api/captcha,
   * POST /api/register, GET /api/me with a fresh cookie jar per flow.
   */
  | { kind: "flow" }
  /** GET /api/me with a logged-in session per virtual user (signed up before the clock starts). */
  | { kind: "me" };

export interface LoadSpec {
  base: string;
  scenario: Scenario;
  concurrency: number;
  durationMs: number;
  warmupMs: number;
  /** Stops early after this many measured iterations. */
  maxIterations?: number;
  cookieName?: string;
  /** Return the raw latencies too, so runs interleaved with others can be merged. */
  keepSamples?: boolean;
  /** The `me` scenario's sessions are reused by later runs with the same scope (one server's life). */
  sessionScope?: string;
  /** Sent as Accept-Encoding on every request, as a browser does ("gzip, deflate, br, zstd"); replies are decoded here. None by default. */
  acceptEncoding?: string;
}

export interface LoadResult {
  scenario: string;
  concurrency: number;
  /** The measured window, warm-up excluded. */
  windowMs: number;
  iterations: number;
  /** Completions of the whole run, warm-up and tail included: what the server's CPU time was spent on. */
  completed: number;
  /** The servers' CPU time (all their threads) over the whole run, per completion; set by the caller, who knows the servers. */
  serverCpuMsPerIteration?: number;
  serverCpuMs?: number;
  perSecond: number;
  requests: number;
  requestsPerSecond: number;
  errors: number;
  errorSamples: string[];
  /** Latency of a whole iteration (a flow, or one request). */
  iteration: Summary;
  endpoints: Record<string, Summary>;
  samples?: { iteration: number[]; endpoints: Record<string, number[]> };
}

class Failure extends Error {}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A reply's body as the client reads it: decoded by its Content-Encoding, as a browser would. */
function decoded(body: Buffer, encoding: string | undefined): Buffer {
  switch (encoding) {
    case "gzip":
      return zlib.gunzipSync(body);
    case "deflate":
      return zlib.inflateSync(body);
    case "br":
      return zlib.brotliDecompressSync(body);
    default:
      return body;
  }
}

function requester(base: string, concurrency: number, acceptEncoding?: string) {
  const url = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const send = (method: string, path: string, given: Record<string, string>, body?: string) =>
    new Promise<Reply>((resolve, reject) => {
      const headers = acceptEncoding ? { ...given, "accept-encoding": acceptEncoding } : given;
      const req = http.request(
        { host: url.hostname, port: url.port, method, path, agent, headers: body === undefined ? headers : { ...headers, "content-length": Buffer.byteLength(body) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            try {
              resolve({ status: res.statusCode ?? 0, headers: res.headers, body: decoded(Buffer.concat(chunks), res.headers["content-encoding"]).toString("utf8") });
            } catch (error) {
              reject(error);
            }
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  return { send, close: () => agent.destroy() };
}

function cookieFrom(reply: Reply, name: string, previous?: string): string | undefined {
  const set = reply.headers["set-cookie"]?.find((c) => c.startsWith(`${name}=`));
  if (!set) return previous;
  const pair = set.split(";")[0]!;
  return pair === `${name}=` ? undefined : pair;
}

const loggedIn = new Map<string, string[]>();

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const { send, close } = requester(spec.base, spec.concurrency, spec.acceptEncoding);
  const cookieName = spec.cookieName ?? "holdfast_session";
  const samples = new Map<string, number[]>();
  const iterationSamples: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  let requests = 0;
  let iterations = 0;
  let completed = 0;
  let measuring = false;

  const timed = async (name: string, method: string, path: string, headers: Record<string, string>, body?: string) => {
    const t0 = performance.now();
    const reply = await send(method, path, headers, body);
    if (measuring) {
      let list = samples.get(name);
      if (!list) samples.set(name, (list = []));
      list.push(performance.now() - t0);
      requests++;
    }
    return reply;
  };
  const expect = (name: string, reply: Reply, status: number) => {
    if (reply.status !== status) throw new Failure(`${name}: ${reply.status} ${reply.body.slice(0, 160)}`);
  };

  const signUp = async (): Promise<string> => {
    const challenge = await timed("GET /api/challenge", "GET", "/api/challenge", {});
    expect("challenge", challenge, 200);
    let altcha: string;
    try {
      altcha = proofFrom(challenge.body).payload;
    } catch (error) {
      throw new Failure((error as Error).message);
    }
    const captcha = await timed("GET /api/captcha", "GET", "/api/captcha", {});
    expect("captcha", captcha, 200);
    let cookie = cookieFrom(captcha, cookieName);
    const answer = captcha.headers["x-captcha-answer"];
    if (!cookie || typeof answer !== "string") throw new Failure("captcha: no cookie or no X-Captcha-Answer (is CAPTCHA_TEST_MODE=1?)");
    const id = randomBytes(6).toString("hex");
    const body = JSON.stringify({ username: `b_${id}`, email: `b.${id}@bench.test`, password: `password-${id}`, captcha: answer, altcha });
    const registered = await timed("POST /api/register", "POST", "/api/register", { "content-type": "application/json", cookie }, body);
    expect("register", registered, 201);
    cookie = cookieFrom(registered, cookieName, cookie)!;
    const me = await timed("GET /api/me", "GET", "/api/me", { cookie });
    expect("me", me, 200);
    return cookie;
  };

  const scenario = spec.scenario;
  // Logged-in sessions for the `me` scenario are made before the clock starts, once per server.
  let sessions: string[] = [];
  if (scenario.kind === "me") {
    const key = `${spec.sessionScope ?? spec.base} ${spec.base} ${spec.concurrency}`;
    sessions = loggedIn.get(key) ?? (await Promise.all(Array.from({ length: spec.concurrency }, () => signUp())));
    loggedIn.set(key, sessions);
  }

  const iterate = async (user: number): Promise<void> => {
    switch (scenario.kind) {
      case "flow":
        await signUp();
        return;
      case "me":
        expect("me", await timed("GET /api/me", "GET", "/api/me", { cookie: sessions[user]! }), 200);
        return;
      case "get": {
        const reply = await timed(`GET ${scenario.path}`, "GET", scenario.path, scenario.cookie ? { cookie: scenario.cookie } : {});
        expect(scenario.path, reply, scenario.expect ?? 200);
        return;
      }
    }
  };

  const started = performance.now();
  const measureFrom = started + spec.warmupMs;
  const end = measureFrom + spec.durationMs;
  const budget = spec.maxIterations ?? Infinity;
  let windowStart = measureFrom;
  let windowEnd = end;
  const warmupTimer = setTimeout(() => {
    measuring = true;
    windowStart = performance.now();
  }, spec.warmupMs);

  const user = async (index: number) => {
    while (performance.now() < end && iterations < budget) {
      const t0 = performance.now();
      try {
        await iterate(index);
        completed++;
        // Completions inside the window count, whenever they started: a closed loop's throughput.
        if (measuring && performance.now() <= end) {
          iterations++;
          iterationSamples.push(performance.now() - t0);
          if (iterations >= budget) windowEnd = performance.now();
        }
      } catch (error) {
        if (measuring) errors++;
        if (errorSamples.length < 5) errorSamples.push((error as Error).message);
        // A refused connection fails fast; without a pause one user would spin on it.
        if (!(error instanceof Failure)) await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, (_, i) => user(i)));
  clearTimeout(warmupTimer);
  close();

  const windowMs = Math.max(1, Math.min(windowEnd, performance.now()) - windowStart);
  const endpoints = Object.fromEntries([...samples].map(([name, list]) => [name, summarize(list)]));
  return {
    scenario: scenario.kind === "get" ? `GET ${scenario.path}` : scenario.kind,
    concurrency: spec.concurrency,
    windowMs,
    iterations,
    completed,
    perSecond: (iterations / windowMs) * 1000,
    requests,
    requestsPerSecond: (requests / windowMs) * 1000,
    errors,
    errorSamples,
    iteration: summarize(iterationSamples),
    endpoints,
    ...(spec.keepSamples ? { samples: { iteration: iterationSamples, endpoints: Object.fromEntries(samples) } } : {}),
  };
}

/** One result out of several runs of the same scenario (interleaved with others): counts add up, percentiles come from all samples. */
export function mergeResults(runs: LoadResult[]): LoadResult {
  const first = runs[0];
  if (!first) throw new Error("mergeResults: no runs");
  const windowMs = runs.reduce((t, r) => t + r.windowMs, 0);
  const iterations = runs.reduce((t, r) => t + r.iterations, 0);
  const requests = runs.reduce((t, r) => t + r.requests, 0);
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.samples?.endpoints ?? {})))];
  const completed = runs.reduce((t, r) => t + r.completed, 0);
  const cpu = runs.every((r) => r.serverCpuMs !== undefined) ? runs.reduce((t, r) => t + r.serverCpuMs!, 0) : undefined;
  return {
    scenario: first.scenario,
    concurrency: first.concurrency,
    windowMs,
    iterations,
    completed,
    ...(cpu !== undefined && completed > 0 ? { serverCpuMs: cpu, serverCpuMsPerIteration: cpu / completed } : {}),
    perSecond: (iterations / windowMs) * 1000,
    requests,
    requestsPerSecond: (requests / windowMs) * 1000,
    errors: runs.reduce((t, r) => t + r.errors, 0),
    errorSamples: runs.flatMap((r) => r.errorSamples).slice(0, 5),
    iteration: summarize(runs.flatMap((r) => r.samples?.iteration ?? [])),
    endpoints: Object.fromEntries(names.map((n) => [n, summarize(runs.flatMap((r) => r.samples?.endpoints[n] ?? []))])),
  };
}

export interface LoadWorker {
  run(spec: LoadSpec): Promise<LoadResult>;
  close(): void;
}

type WorkerReply = { id: number; result: LoadResult } | { id: number; error: string };

/** Forks the generator into its own process; one run at a time. */
export function startLoadWorker(): LoadWorker {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ["--worker"], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  let next = 0;
  const pending = new Map<number, { resolve(r: LoadResult): void; reject(e: Error): void }>();
  child.on("message", (message: WorkerReply) => {
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if ("error" in message) waiter?.reject(new Error(`load generator: ${message.error}`));
    else waiter?.resolve(message.result);
  });
  child.on("exit", (code) => {
    for (const w of pending.values()) w.reject(new Error(`load generator exited with ${code}`));
    pending.clear();
  });
  return {
    run(spec) {
      const id = next++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ id, spec });
      });
    },
    close() {
      child.disconnect();
    },
  };
}

if (process.argv.includes("--worker") && process.send) {
  process.on("message", (message: { id: number; spec: LoadSpec }) => {
    runLoad(message.spec).then(
      (result) => process.send!({ id: message.id, result }),
      (error: Error) => process.send!({ id: message.id, error: error.message }),
    );
  });
}
