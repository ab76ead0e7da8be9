/**
 * The app's server, for `npm start` (compiled to dist/server.mjs) and `npm run dev` (`--dev`:
 * Next in development mode, this file run through tsx) alike, so that development answers a
 * client as production does. It is Next's own request handler behind a plain node:http server,
 * for one reason: a route handler cannot see the socket's address, and Next fills in
 * X-Forwarded-For only when the client did not send one, so a client could choose its own
 * address for the rate limits. Here the socket's address is recorded in a header no client can
 * set, and so is whether proxy headers arrived. Without TRUST_PROXY the X-Forwarded-Proto and
 * X-Forwarded-Host a client sent are removed before Next sees them, since Next builds the
 * request's URL from them; with it, each keeps only the value our proxies vouch for.
 */
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import next from "next";
import { afterLogin, formFailure } from "./lib/api/context";
import { FORWARDED_HEADER, PEER_HEADER, peerHeaderValue, PROTO_HEADER, trustedForwardedValue } from "./lib/http/client-ip";
import { errorBody } from "./lib/http/errors";
import { FORM_PAGES, gate, nextHeaders, SECURITY_HEADERS } from "./lib/http/gate";
import { config, ConfigError, keepNextEnvAcrossReloads, listenProblem, loadEnvFiles, type Config } from "./lib/env";

const dev = process.argv.includes("--dev");

// The .env files Next loads for the app, loaded here first, so this server reads what the app reads.
loadEnvFiles(dev);

// A wrong setting stops the server with its sentences, as `npm start` prints them, not a stack trace.
let settings: Config;
try {
  settings = config();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  for (const problem of error.problems) console.error(`[holdfast] ${problem}`);
  process.exit(1);
}
const { trustProxy, proxyHops, port, hostname, instanceName } = settings;
const metrics = settings.metricsToken !== undefined;

const app = next({ dev, hostname, port });
const handle = app.getRequestHandler();

/** An answer the gate gave, written as it is (its body is a short string). */
async function send(res: ServerResponse, response: Response): Promise<void> {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.headers.set(name, value);
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(await response.text());
}

/** The response each connection is serving, for a client error that arrives while it is. */
const serving = new WeakMap<Duplex, ServerResponse>();

// node:http's own 400 for an HTTP/1.1 request without a Host carries none of the headers every
// response does: that refusal is made here instead (requireHostHeader: false).
// A whole request (headers and a body of at most 16 KiB) arrives within 30 s or is answered 408:
// node's 300 s default lets one client trickling a body hold a connection, and a shutdown, for
// minutes. Node looks for late requests every `connectionsCheckingInterval` (30 s by default,
// which made the bound 30 to 60 s): every second, so 408 comes at 30 s.
const REQUEST_TIMEOUT_MS = 30_000;
const server = createServer({ requireHostHeader: false, requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 1_000 }, (req, res) => {
  serving.set(req.socket, res);
  // Set before anything answers, so every response carries them: the gate's, and Next's pages,
  // redirects (its 308 for a trailing slash, which next.config.mjs's headers miss), 404s and
  // static files (Next adds to the headers already set, never drops them).
  if (instanceName) res.setHeader("x-holdfast-instance", instanceName);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
  if (req.httpVersion === "1.1" && req.headers.host === undefined) {
    return void send(res, new Response("Bad Request\n", { status: 400, headers: { "content-type": "text/plain", connection: "close" } }));
  }
  // What Next would answer outside the contract (see lib/http/gate.ts) is answered here.
  const verdict = gate(req.method ?? "GET", req.url ?? "/", { metrics, dev });
  if (!verdict.pass) return void send(res, verdict.response);
  req.url = verdict.url;
  // Pages read the session (who is logged in, a pass, a draft): a shared cache keeps them apart
  // by cookie, as it does the API's session responses (lib/http/route.ts). Next sets a page's
  // Vary itself, over any set before, so Cookie is added as the head is written.
  // Files (the proof-of-work worker, icons) read no session: a cache keeps one copy for everyone.
  const path = verdict.url.split("?")[0]!;
  if (!path.startsWith("/_next/") && !path.startsWith("/api/") && !/\.[A-Za-z0-9]+$/.test(path)) varyOnCookie(res);
  const internal = nextHeaders(verdict.url, req.headers);
  if ("refuse" in internal) return void send(res, internal.refuse);
  for (const name of internal.drop) delete req.headers[name];
  const forwarded = req.headers["x-forwarded-for"] !== undefined || req.headers["x-forwarded-proto"] !== undefined;
  req.headers[PEER_HEADER] = peerHeaderValue(req.socket.remoteAddress ?? "");
  req.headers[FORWARDED_HEADER] = forwarded ? "1" : "0";
  req.headers[PROTO_HEADER] = "encrypted" in req.socket && req.socket.encrypted ? "https" : "http";
  for (const name of ["x-forwarded-proto", "x-forwarded-host"]) {
    const value = req.headers[name];
    if (!trustProxy) delete req.headers[name];
    // Several values (a proxy that appends): only the one our proxies vouch for, for Next too.
    // A scheme is case-insensitive: Next compares it with "https" as sent.
    else if (typeof value === "string") {
      const trusted = trustedForwardedValue(value, proxyHops);
      req.headers[name] = name === "x-forwarded-proto" ? trusted.toLowerCase() : trusted;
    }
  }
  // A request that arrives while Next still prepares waits for it.
  void prepared.then(() => handle(req, res));
});
server.keepAliveTimeout = 65_000;

/** Adds Cookie to the response's Vary when its head is written (res.end without one writes it too). */
function varyOnCookie(res: ServerResponse): void {
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: Parameters<typeof writeHead>) {
    const vary = res.getHeader("vary");
    const names = (Array.isArray(vary) ? vary.join(",") : String(vary ?? "")).split(",").map((name) => name.trim()).filter(Boolean);
    if (!names.some((name) => name.toLowerCase() === "cookie" || name === "*")) res.setHeader("vary", [...names, "Cookie"].join(", "));
    return writeHead.apply(this, args);
  } as typeof writeHead;
}
/** How long a stopping server lets the requests in flight finish before it closes their connections. */
const SHUTDOWN_GRACE_MS = 10_000;
/**
 * A reply written on the socket, for what node:http answers before any request handler, with the
 * headers every response carries: plain text, its reason, unless a body or a redirect is given.
 * The connection is then closed for good (a client that never closes its side holds nothing).
 */
function bareReply(socket: Duplex, status: number, reason: string, options: { headers?: Record<string, string>; json?: unknown } = {}): void {
  if (!socket.writable) return void socket.destroy();
  const body = options.json === undefined ? `${reason}\n` : JSON.stringify(options.json);
  const head = {
    "content-type": options.json === undefined ? "text/plain" : "application/json",
    "content-length": String(Buffer.byteLength(body)),
    connection: "close",
    ...options.headers,
    ...(instanceName ? { "x-holdfast-instance": instanceName } : {}),
    ...SECURITY_HEADERS,
  };
  socket.end(`HTTP/1.1 ${status} ${reason}\r\n${Object.entries(head).map(([name, value]) => `${name}: ${value}\r\n`).join("")}\r\n${body}`, () => socket.destroy());
}
/** What node answers a parse error with (llhttp's codes), where it is not a plain 400. */
const PARSE_STATUS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, "Request Header Fields Too Large"],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, "Payload Too Large"],
  ERR_HTTP_REQUEST_TIMEOUT: [408, "Request Timeout"],
};
// CONNECT names no path: a plain 405, as any method Next cannot take gets (node:http would
// otherwise close the connection with no answer at all).
server.on("connect", (_req, socket) => bareReply(socket, 405, "Method Not Allowed", { headers: { allow: "GET, HEAD" } }));
// What node:http refuses itself (headers too large, a request line it cannot parse, a request
// that took too long to arrive) gets node's own status, with those headers too.
server.on("clientError", (error: NodeJS.ErrnoException, socket) => {
  if (error.code === "ECONNRESET") return void socket.destroy();
  const response = serving.get(socket);
  // A response already under way on this connection: another written after its headers would
  // corrupt it (node's own rule).
  if (response && response.headersSent && !response.writableEnded) return void socket.destroy();
  const inFlight = response && !response.headersSent ? response.req : undefined;
  // The connection ended inside the body of a request to an endpoint (a client that closed its
  // sending side partway): the contract's answer to a body cut off, as the endpoint gives it: a
  // plain form post back to its page, anything else the JSON error.
  if (error.code === "HPE_INVALID_EOF_STATE" && inFlight?.url?.startsWith("/api/")) {
    const path = inFlight.url.split("?")[0]!;
    const page = Object.hasOwn(FORM_PAGES, path) ? FORM_PAGES[path as keyof typeof FORM_PAGES] : undefined;
    const form = (inFlight.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase() === "application/x-www-form-urlencoded";
    if (page && form) {
      // As a refusal answered before the body is read: the login form's `next` rides in its action.
      const next = afterLogin(new URL(inFlight.url, "http://server").searchParams.get("next"));
      const location = formFailure(page, "invalid_json", undefined, undefined, next).headers.get("location")!;
      return bareReply(socket, 303, "See Other", { headers: { location } });
    }
    return bareReply(socket, 400, "Bad Request", { json: errorBody("invalid_json") });
  }
  const [status, reason] = (error.code && PARSE_STATUS[error.code]) || [400, "Bad Request"];
  bareReply(socket, status, reason);
});
// An `Expect` other than 100-continue.
server.on("checkExpectation", (req) => bareReply(req.socket, 417, "Expectation Failed"));

// The address is taken before Next prepares, so a port in use or a wrong HOSTNAME is said at
// once, in one sentence, rather than as a stack trace after Next spent seconds starting.
const prepared = new Promise<void>((resolve) => {
  const refused = (error: NodeJS.ErrnoException) => {
    console.error(`[holdfast] ${listenProblem(error.code, { port, hostname })}`);
    process.exit(1);
  };
  server.once("error", refused);
  server.listen(port, hostname, () => {
    server.off("error", refused);
    resolve();
  });
}).then(() => app.prepare());
await prepared;
if (dev) keepNextEnvAcrossReloads();
const bound = server.address() as AddressInfo;
console.log(`[holdfast] serving on http://${bound.family === "IPv6" ? `[${bound.address}]` : bound.address}:${bound.port}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    if (dev) {
      // Development keeps its hot-reload sockets open, which close() would wait for; Next's own
      // shutdown (its bundler's cache, its lock) gets 3 s.
      server.closeAllConnections();
      void Promise.race([app.close(), new Promise((resolve) => setTimeout(resolve, 3_000))]).finally(() => process.exit(0));
      return;
    }
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    // A client that keeps a request open (trickling its body) cannot hold the old instance of a
    // deploy: past the grace its connection is closed, and the process ends.
    setTimeout(() => {
      server.closeAllConnections();
      process.exit(0);
    }, SHUTDOWN_GRACE_MS).unref();
  });
}
