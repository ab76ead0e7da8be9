import { isIP } from "node:net";

/** Set by server.ts from the socket, overwriting whatever a client sent. */
export const PEER_HEADER = "x-holdfast-peer";
/** "1" when the raw request carried X-Forwarded-* headers, before Next adds its own. */
export const FORWARDED_HEADER = "x-holdfast-forwarded";

/** Addresses a proxy of ours may have: loopback, private and link-local ranges. */
function isInternal(ip: string): boolean {
  const v4 = ip.startsWith("::ffff:") ? ip.slice(7) : ip;
  if (isIP(v4) === 4) {
    const [a, b] = v4.split(".").map(Number) as [number, number];
    return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
  }
  const v6 = ip.toLowerCase();
  return v6 === "::1" || v6.startsWith("fc") || v6.startsWith("fd") || v6.startsWith("fe80:");
}

/**
 * The client's address. Without TRUST_PROXY it is the socket's peer. With it, the right-most
 * X-Forwarded-For hop that is not one of our proxies: hops to its left were written by the
 * client and prove nothing, so sending your own header cannot change the answer.
 */
export function clientIp(req: Request, trustProxy: boolean): string {
  const peer = req.headers.get(PEER_HEADER) || req.headers.get("x-forwarded-for")?.split(",").at(-1)?.trim() || "unknown";
  if (!trustProxy) return peer;
  const hops = [...(req.headers.get("x-forwarded-for") ?? "").split(",").map((h) => h.trim()).filter((h) => isIP(h) !== 0), peer];
  for (let i = hops.length - 1; i >= 0; i--) if (!isInternal(hops[i]!)) return hops[i]!;
  return hops[0]!;
}
