/**
 * The production server: Next's own request handler behind a plain node:http server, for one
 * reason. A route handler cannot see the socket's address, and `next start` fills in
 * X-Forwarded-For only when the client did not send one, so a client could choose its own
 * address for the rate limits. Here the socket's address is recorded in a header no client can
 * set, and so is whether proxy headers arrived. Without TRUST_PROXY the X-Forwarded-Proto and
 * X-Forwarded-Host a client sent are removed before Next sees them, since Next builds the
 * request's URL from them.
 */
import { createServer } from "node:http";
import next from "next";
import { FORWARDED_HEADER, PEER_HEADER, PROTO_HEADER } from "./lib/http/client-ip";
import { config } from "./lib/env";

const port = Number(process.env.PORT ?? 3000);
const hostname = process.env.HOSTNAME ?? "127.0.0.1";
const app = next({ dev: false, hostname, port });
const handle = app.getRequestHandler();

const trustProxy = config().trustProxy;

await app.prepare();
const server = createServer((req, res) => {
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
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  });
}
