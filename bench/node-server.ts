/**
 * Node's limit for the benchmarks: the same endpoints and the same lib code as the Next app, on a
 * bare node:http server. Each IncomingMessage becomes a web Request, goes through
 * `sessionRoute(() => services, endpoint)` exactly as a Next route handler would, and the
 * Response is written back. What Next adds on top is the difference.
 *
 *   PORT=… SESSION_SECRET=… DATABASE_URL=… tsx bench/node-server.ts
 *
 * Also serves GET /api/ping (a constant JSON through the same Request/Response conversion, no
 * session) and GET /hello (written straight to the socket: node:http's own ceiling).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { getCaptcha } from "../lib/api/captcha";
import { getChallenge } from "../lib/api/challenge";
import { login } from "../lib/api/login";
import { logout } from "../lib/api/logout";
import { me } from "../lib/api/me";
import { password } from "../lib/api/password";
import { register } from "../lib/api/register";
import { config } from "../lib/env";
import { FORWARDED_HEADER, PEER_HEADER, peerHeaderValue } from "../lib/http/client-ip";
import { healthRoute, sessionRoute, type Handler } from "../lib/http/route";
import { powSettings } from "../lib/pow/pow";
import { createServices } from "../lib/services";

const services = createServices(config());
const provide = () => services;

const routes: Record<string, Handler> = {
  "GET /api/captcha": sessionRoute(provide, getCaptcha),
  "GET /api/challenge": sessionRoute(provide, (ctx) => getChallenge(ctx, powSettings(ctx.services.config))),
  "POST /api/register": sessionRoute(provide, register),
  "POST /api/login": sessionRoute(provide, login),
  "POST /api/logout": sessionRoute(provide, logout),
  "POST /api/password": sessionRoute(provide, password),
  "GET /api/me": sessionRoute(provide, me),
  "GET /api/health": healthRoute(provide),
  "GET /api/ping": async () => Response.json({ ok: true }),
};

async function toRequest(req: IncomingMessage, origin: string): Promise<Request> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  // What server.ts records for Next: the socket's address, and whether proxy headers came in.
  headers.set(FORWARDED_HEADER, req.headers["x-forwarded-for"] !== undefined || req.headers["x-forwarded-proto"] !== undefined ? "1" : "0");
  headers.set(PEER_HEADER, peerHeaderValue(req.socket.remoteAddress ?? ""));
  const method = req.method ?? "GET";
  let body: ArrayBuffer | undefined;
  if (method !== "GET" && method !== "HEAD") {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    // A copy into an ArrayBuffer of its own: Buffers may share a pooled one.
    body = new Uint8Array(Buffer.concat(chunks)).buffer;
  }
  return new Request(`${origin}${req.url ?? "/"}`, { method, headers, body });
}

async function writeResponse(response: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length) headers["set-cookie"] = cookies;
  const body = response.body ? Buffer.from(await response.arrayBuffer()) : undefined;
  res.writeHead(response.status, headers);
  res.end(body);
}

const port = Number(process.env.PORT ?? 3100);
const hostname = process.env.HOSTNAME ?? "127.0.0.1";
const origin = `http://${hostname}:${port}`;

const server = createServer((req, res) => {
  if (req.url === "/hello") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("hello");
    return;
  }
  const route = routes[`${req.method} ${(req.url ?? "/").split("?")[0]}`];
  if (!route) {
    res.writeHead(404).end();
    return;
  }
  toRequest(req, origin)
    .then(route)
    .then((response) => writeResponse(response, res))
    .catch((error: Error) => {
      console.error(`[bench node-server] ${error.name}: ${error.message}`);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
});
server.keepAliveTimeout = 65_000;
server.listen(port, hostname, () => console.log(`[bench node-server] serving on ${origin} (${services.store.name} store)`));

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    // A normal exit, so `node --cpu-prof` gets to write its profile.
    server.close();
    server.closeAllConnections();
    void services.close().finally(() => process.exit(0));
  });
}
