import { randomBytes } from "node:crypto";
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";

/**
 * Set by server.ts from the socket, overwriting whatever a client sent, as `<key> <address>`:
 * the key is drawn once per process (shared through the global symbol registry with the route
 * handlers Next loads in the same process), so where nothing overwrites the header (Next served
 * without server.ts) one a client sends is not believed: it cannot pick the address its rate
 * limits count.
 */
export const PEER_HEADER = "x-holdfast-peer";
const PEER_KEY = Symbol.for("holdfast.peer-key");

function peerKey(): string {
  const registry = globalThis as { [PEER_KEY]?: string };
  return (registry[PEER_KEY] ??= randomBytes(16).toString("hex"));
}

/** The PEER_HEADER value that says the socket's peer is `address` ("" when the socket has none). */
export function peerHeaderValue(address: string): string {
  return `${peerKey()} ${address}`;
}

/** The address server.ts put in PEER_HEADER; undefined when it did not (a header a client sent). */
function vouchedPeer(req: Request): string | undefined {
  const value = req.headers.get(PEER_HEADER);
  const key = (globalThis as { [PEER_KEY]?: string })[PEER_KEY];
  if (value === null || key === undefined) return undefined;
  // Header values lose trailing spaces: the key alone is the server's "no address".
  if (value === key) return "";
  if (!value.startsWith(`${key} `)) return undefined;
  return value.slice(key.length + 1);
}
/** The scheme the request arrived over at this server's own socket ("http" or "https"), set by server.ts. */
export const PROTO_HEADER = "x-holdfast-proto";
/** "1" when the raw request carried X-Forwarded-* headers, before Next adds its own. */
export const FORWARDED_HEADER = "x-holdfast-forwarded";

/**
 * The client's address. Without TRUST_PROXY it is the socket's peer. With TRUST_PROXY=N, the
 * N-th X-Forwarded-For entry from the right: each of our N proxies appended one hop (the first
 * appended the client), and everything further left was written by the client and proves
 * nothing, so sending your own header cannot change the answer.
 */
export function clientIp(req: Request, proxyHops: number): string {
  // Without server.ts (a platform that runs Next itself and sets X-Forwarded-For), the last hop.
  const vouched = vouchedPeer(req);
  const peer = (vouched === undefined ? req.headers.get("x-forwarded-for")?.split(",").at(-1)?.trim() : vouched) || "unknown";
  if (proxyHops === 0) return peer;
  const hops = (req.headers.get("x-forwarded-for") ?? "").split(",").map((h) => h.trim());
  const client = hops[hops.length - proxyHops];
  return client && isIP(client) !== 0 ? client : peer;
}

/**
 * The one value of a comma-separated X-Forwarded-Proto or X-Forwarded-Host that our proxies
 * vouch for, with TRUST_PROXY=N: the N-th from the right, as for X-Forwarded-For (a proxy that
 * appends puts its own value last, after whatever the client sent); the first when there are
 * fewer. A client's `X-Forwarded-Proto: https` ahead of our proxy's `http` must not make the
 * cookie Secure over http, where the browser would drop it.
 */
export function trustedForwardedValue(value: string, proxyHops: number): string {
  if (!value.includes(",")) return value.trim();
  const values = value.split(",").map((v) => v.trim());
  return values[Math.max(0, values.length - proxyHops)]!;
}

/**
 * What the per-address rate limits count: an IPv4 address as it is (an IPv4-mapped IPv6 one,
 * `::ffff:203.0.113.9`, as that IPv4 address), and an IPv6 address by its /64 network. A single
 * subscriber, even a single phone, is given a whole /64, so counting each of its addresses
 * apart would hand one client 2^64 budgets; a /64 holds one household or device, never
 * strangers, so a shared budget cannot lock someone else out.
 */
export function rateLimitAddress(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === "ipv4") return parsed.toString();
  const network = new ipaddr.IPv6([...(parsed as ipaddr.IPv6).parts.slice(0, 4), 0, 0, 0, 0]);
  return `${network.toString()}/64`;
}

/**
 * The wider network of an IPv6 client, its /48: what one site or one customer of a provider is
 * usually given, so 65,536 /64s that one party holds. Undefined for IPv4 (an address is already
 * as narrow as a client gets) and for what is not an address.
 */
export function rateLimitNetwork(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return undefined;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === "ipv4") return undefined;
  const network = new ipaddr.IPv6([...(parsed as ipaddr.IPv6).parts.slice(0, 3), 0, 0, 0, 0, 0]);
  return `${network.toString()}/48`;
}
