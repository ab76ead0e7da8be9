/**
 * The app's server, for `npm start` (compiled to dist/server.mjs) and `npm run dev` (`--dev`:
 * Next in development mode, this file run through tsx) alike, so that development answers a
 * client as production does. It is Next's own request handler behind a plain node:http server,
 * for one reason: a route handler cannot see the socket's address, and Next fills in
 * X-Forwarded-For only when the client did not send one, so a client could choose its own
 * address for the rate limits. Here the socket's address is recorded in a header no client can
 * set, and so is whether proxy headers arrived. Without TRUST_PROXY the X-Forwarded-Proto and
 * X-Forwarded-Host a client sent are removed before Next sees them, since Next builds the
 * request's URL from them.
 */
import { createServer, type ServerResponse } from "node:http";
import next from "next";
import { FORWARDED_HEADER, PEER_HEADER, PROTO_HEADER } from "./lib/http/client-ip";
import { gate, SECURITY_HEADERS } from "./lib/http/gate";
import { config, ConfigError, type Config } from "./lib/env";

const dev = process.argv.includes("--dev");
const port = Number(process.env.PORT ?? 3000);
const hostname = process.env.HOSTNAME ?? "127.0.0.1";

// A wrong setting stops the server with its sentences, as `npm start` prints them, not a stack trace.
let settings: Config;
try {
  settings = config();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  for (const problem of error.problems) console.error(`[holdfast] ${problem}`);
  process.exit(1);
}
const { trustProxy } = settings;
const metrics = settings.metricsToken !== undefined;

const app = next({ dev, hostname, port });
const handle = app.getRequestHandler();

/** An answer the gate gave, written as it is (its body is a short string). */
async function send(res: ServerResponse, response: Response): Promise<void> {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.headers.set(name, value);
  if (settings.instanceName) response.headers.set("x-holdfast-instance", settings.instanceName);
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(await response.text());
}

await app.prepare();
const server = createServer((req, res) => {
  // What Next would answer outside the contract (see lib/http/gate.ts) is answered here.
  const verdict = gate(req.method ?? "GET", req.url ?? "/", { metrics });
  if (!verdict.pass) return void send(res, verdict.response);
  req.url = verdict.url;
  const forwarded = req.headers["x-forwarded-for"] !== undefined || req.headers["x-forwarded-proto"] !== undefined;
  req.headers[PEER_HEADER] = req.socket.remoteAddress ?? "";
  req.headers[FORWARDED_HEADER] = forwarded ? "1" : "0";
  req.headers[PROTO_HEADER] = "encrypted" in req.socket && req.socket.encrypted ? "https" : "http";
  if (!trustProxy) {
    delete req.headers["x-forwarded-proto"];
    delete req.headers["x-forwarded-host"];
  }
  void handle(req, res);
});
server.keepAliveTimeout = 65_000;
server.listen(port, hostname, () => console.log(`[holdfast] serving on http://${hostname}:${port}`));

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    // Development keeps its hot-reload sockets open, which close() would wait for.
    if (dev) process.exit(0);
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  });
}
