import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { chmodSync, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, waitForPort } from "./stack";
import { tracked } from "./children";

/**
 * Several instances of one build (server.ts: Next's production server) behind Debian's nginx, round-robin with no
 * stickiness: the deployment shape the contract is written for. Every response names its
 * instance in X-Holdfast-Instance. Everything started here is stopped by `stop()`.
 */

export interface ClusterOptions {
  instances?: number;
  /** Environment of every instance (store, secrets, database, redis…). */
  env: Record<string, string>;
  /** The proxy's port; a spare one when omitted. */
  port?: number;
  /** Where instance logs go. */
  logDir?: string;
  /**
   * Start several instances even with SESSION_STORE=memory. Only the test that proves the
   * failure is loud uses it; the harness refuses otherwise.
   */
  allowMemoryStore?: boolean;
  /** How long the instances may take to listen; by default 30 s plus 10 s per instance. */
  readyTimeoutMs?: number;
  /** Settings of single instances over `env`, by name (`i2`): a misconfigured instance, on purpose. */
  instanceEnv?: Record<string, Record<string, string>>;
  /** The app to run: a checkout with its own build (another commit, for a benchmark); this one by default. */
  appDir?: string;
  /** Ports of servers put in the proxy's pool beside the instances: a test's stand-in for an instance of another build. */
  extraUpstreams?: number[];
}

export interface Instance {
  name: string;
  port: number;
  process: ChildProcess;
}

export interface Cluster {
  url: string;
  instances: Instance[];
  /** Kills one instance at once (SIGKILL), as a crash would. */
  kill(name: string): void;
  stop(): Promise<void>;
}

export class ClusterRefused extends Error {}

/**
 * An instance that ended before it listened, such as one that a wrong setting stopped: server.ts
 * then prints its refusal as `[holdfast] …` sentences, which this carries, read from its log.
 */
export class InstanceExited extends Error {
  constructor(
    readonly instance: string,
    /** How it ended: `exit code 1`, or the signal that ended it. */
    readonly how: string,
    /** The `[holdfast] …` lines of its log, as it printed them; none when it crashed otherwise. */
    readonly sentences: string[],
    readonly logFile: string,
  ) {
    super(`${instance} stopped before it listened (${how})${sentences.length ? `:\n${sentences.join("\n")}` : `; see ${logFile}`}`);
  }
}

function nginxConfig(dir: string, port: number, upstreams: number[]): string {
  return `
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream app {
    # Round-robin, no stickiness: consecutive requests of one visitor go to different instances.
${upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=30s;`).join("\n")}
    keepalive 32;
  }
  # A body above nginx's own limit never reaches the app: a plain form post to one of the app's
  # forms still lands back on its page, as the app would send it.
  map "$request_method $content_type $uri" $too_large_form_page {
    default "";
    "~*^POST application/x-www-form-urlencoded.* /api/(register|signup/draft)/?$" /signup;
    "~*^POST application/x-www-form-urlencoded.* /api/login/?$" /login;
    "~*^POST application/x-www-form-urlencoded.* /api/logout/?$" /welcome;
    "~*^POST application/x-www-form-urlencoded.* /api/password/?$" /password;
  }
  # The page a login returns to, which its form names in its action (\`/api/login?next=/password\`):
  # kept on the way back, as the app keeps it, and only the one page it may return to.
  map "$uri $arg_next" $too_large_next {
    default "";
    "~*^/api/login/?\\s(%2F|/)password$" "&next=%2Fpassword";
  }
  # An HTTP/1.0 request may come with no Host; the app's server (HTTP/1.1 upstream) needs one.
  map $http_host $proxied_host {
    "" $server_addr:$server_port;
    default $http_host;
  }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 1m;
    # Bodies up to the app's own limit stay in memory; the app answers 413 above 16 KiB.
    client_body_buffer_size 64k;
    # Headers as large as the app's server takes (Node's 16 KiB), so a long Cookie header reaches it.
    large_client_header_buffers 4 16k;
    absolute_redirect off;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $proxied_host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header X-Forwarded-Host $proxied_host;
    # A refused connection (a dead instance) is retried on the next one; a request already sent is not.
    proxy_next_upstream error timeout;
    proxy_connect_timeout 2s;
    # What nginx would answer itself in its own words goes to the contract's answer instead: TRACE
    # (which nginx refuses before any location) to the app, whose server answers it; a body above
    # 1 MiB as the app answers one above 16 KiB.
    error_page 405 = @app;
    error_page 413 = @too_large;
    location / {
      proxy_pass http://app;
    }
    # A page asks for its scripts by the build's own file names. In a rolling deploy two builds
    # serve at once, and one build's instances answer 404 for the other's files: that 404 is
    # retried on the next instance, so no visitor gets a page whose scripts never load.
    location /_next/static/ {
      proxy_pass http://app;
      proxy_next_upstream error timeout http_404;
    }
    location @app {
      proxy_pass http://app;
    }
    location @too_large {
      add_header Content-Security-Policy "frame-ancestors 'none'" always;
      add_header X-Frame-Options DENY always;
      add_header X-Content-Type-Options nosniff always;
      add_header Referrer-Policy same-origin always;
      add_header Cache-Control no-store always;
      if ($too_large_form_page) {
        return 303 $too_large_form_page?error=payload_too_large$too_large_next;
      }
      default_type application/json;
      return 413 '{"error":{"code":"payload_too_large","message":"The request body is larger than this site accepts (16 KiB)."}}';
    }
  }
}
`;
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const count = options.instances ?? 3;
  if (count > 1 && options.env.SESSION_STORE === "memory" && !options.allowMemoryStore) {
    throw new ClusterRefused(
      "SESSION_STORE=memory cannot serve several instances: each would keep its own sessions, so a captcha issued by one is unknown to the next; use cookie, database, redis or cached.",
    );
  }
  const logDir = options.logDir ?? path.resolve("artifacts/logs/cluster");
  mkdirSync(logDir, { recursive: true });
  const instances: Instance[] = [];
  /** Each instance's log file, and when all it printed is written there (after it exits). */
  const logs = new Map<string, { file: string; finished: Promise<unknown> }>();
  const dir = mkdtempSync(path.join(tmpdir(), "holdfast-nginx-"));
  // nginx's workers drop root and must still reach their temp folders.
  chmodSync(dir, 0o755);
  // Also when something else ends the process first (the embedded database's own Ctrl-C hook exits
  // before stop() is done): an 'exit' listener runs whatever ended it, and rmSync is synchronous.
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.once("exit", removeDir);
  let nginx: ChildProcess | undefined;

  const stop = async () => {
    const all = [...instances.map((i) => i.process), ...(nginx ? [nginx] : [])];
    await Promise.all(
      all.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGTERM");
          }),
      ),
    );
    removeDir();
    process.removeListener("exit", removeDir);
  };

  // A port something else holds (a proxy left over from an earlier run, say) would pass the
  // readiness check below with the wrong server behind it: refused up front.
  if (options.port !== undefined && (await waitForPort(options.port, 0).then(() => true, () => false))) {
    throw new ClusterRefused(`port ${options.port} is already in use by another process: stop it (an nginx left from an earlier run, say), or choose another --port.`);
  }
  try {
    for (let i = 1; i <= count; i++) {
      const port = await freePort();
      const name = `i${i}`;
      // The compiled server.ts that `npm run build` writes: production runs no TypeScript loader.
      const child = tracked(spawn(process.execPath, [path.resolve(options.appDir ?? ".", "dist/server.mjs")], {
        ...(options.appDir ? { cwd: path.resolve(options.appDir) } : {}),
        env: { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1", TRUST_PROXY: "1", ...options.env, ...options.instanceEnv?.[name], INSTANCE_NAME: name, PORT: String(port), HOSTNAME: "127.0.0.1" },
        stdio: ["ignore", "pipe", "pipe"],
      }));
      const logFile = path.join(logDir, `${name}.log`);
      const log = createWriteStream(logFile);
      // Two streams into one file: it is ended once both are done ('close'), not by whichever
      // ends first, so the last lines an instance prints before it exits are kept.
      child.stdout!.pipe(log, { end: false });
      child.stderr!.pipe(log, { end: false });
      child.once("close", () => log.end());
      instances.push({ name, port, process: child });
      logs.set(name, { file: logFile, finished: once(log, "finish") });
    }
    // Each instance starts a Next server; on two busy cores twelve take about a minute together.
    // One that ends first (a wrong setting stops server.ts before Next prepares) will never
    // listen: it is named at once, with what it printed, rather than after the whole wait.
    const ready = new AbortController();
    const exited = Promise.race(
      instances.map(async (instance) => {
        const [code, signal] = (await once(instance.process, "close")) as [number | null, NodeJS.Signals | null];
        const log = logs.get(instance.name)!;
        await log.finished;
        const sentences = readFileSync(log.file, "utf8")
          .split("\n")
          .filter((line) => line.startsWith("[holdfast] "));
        throw new InstanceExited(instance.name, signal ? `ended by ${signal}` : `exit code ${code}`, sentences, log.file);
      }),
    );
    // Observed here, so that the exits stop() causes later are no unhandled rejection.
    exited.catch(() => {});
    try {
      await Promise.race([Promise.all(instances.map((i) => waitForPort(i.port, options.readyTimeoutMs ?? 30_000 + 10_000 * count, ready.signal))), exited]);
    } finally {
      ready.abort();
    }
    const port = options.port ?? (await freePort());
    writeFileSync(path.join(dir, "nginx.conf"), nginxConfig(dir, port, [...instances.map((i) => i.port), ...(options.extraUpstreams ?? [])]));
    nginx = tracked(spawn("nginx", ["-c", path.join(dir, "nginx.conf"), "-p", dir], { stdio: ["ignore", "ignore", "pipe"] }));
    nginx.stderr!.pipe(createWriteStream(path.join(logDir, "nginx.log")));
    await waitForPort(port, 10_000);
    // Listening, and still running: the port answered for this nginx, not for another.
    await new Promise((r) => setTimeout(r, 200));
    if (nginx.exitCode !== null) throw new Error(`nginx stopped right after starting: see ${path.join(logDir, "nginx.log")}`);
    return {
      url: `http://127.0.0.1:${port}`,
      instances,
      kill(name) {
        instances.find((i) => i.name === name)?.process.kill("SIGKILL");
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
