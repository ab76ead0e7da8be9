import { isUtf8 } from "node:buffer";
import type { FieldErrors } from "../validation";
import type { ErrorCode } from "./errors";
import { PROTO_HEADER, trustedForwardedValue } from "./client-ip";

export const MAX_BODY_BYTES = 16 * 1024;

export type Body = Record<string, unknown>;
export type BodyResult = { ok: true; body: Body; form: boolean } | { ok: false; code: ErrorCode; form: boolean; fields?: FieldErrors };

/**
 * The origin this site is served at, as the browser sees it. Without TRUST_PROXY (`proxyHops`
 * 0) no X-Forwarded-* header counts: the scheme is the socket's, as server.ts recorded it, since
 * Next builds `req.url` from a client-sent X-Forwarded-Proto. With it, of several values the one
 * the N-th proxy from the right vouches for (server.ts already keeps only that one).
 */
export function siteOrigin(req: { headers: Headers; url?: string }, proxyHops: number): string {
  const forwarded = (name: string) => {
    const value = proxyHops > 0 ? req.headers.get(name) : null;
    return value ? trustedForwardedValue(value, proxyHops) : undefined;
  };
  const url = req.url === undefined ? undefined : new URL(req.url);
  const proto = forwarded("x-forwarded-proto") ?? req.headers.get(PROTO_HEADER) ?? url?.protocol.replace(":", "") ?? "http";
  const host = forwarded("x-forwarded-host") ?? req.headers.get("host") ?? url?.host ?? "";
  // Schemes and host names are case-insensitive (a proxy may send `HTTPS`), and a scheme's
  // default port is no port (nginx's `Host $host:$server_port` sends `:80`); a browser's Origin
  // is lowercase and names no default port, so ours is the same.
  const scheme = proto.toLowerCase();
  const defaultPort = scheme === "https" ? ":443" : scheme === "http" ? ":80" : undefined;
  const name = host.toLowerCase();
  return `${scheme}://${defaultPort && name.endsWith(defaultPort) ? name.slice(0, -defaultPort.length) : name}`;
}

/** Whether the request arrived over https, as far as this server can tell. */
export function isHttps(req: { headers: Headers; url?: string }, proxyHops: number): boolean {
  return siteOrigin(req, proxyHops).startsWith("https://");
}

/**
 * CSRF defence for state-changing requests. Origin decides when present; otherwise
 * Sec-Fetch-Site; a request with neither comes from no browser, so it cannot be a CSRF.
 */
export function isSameOrigin(req: Request, proxyHops: number): boolean {
  const origin = req.headers.get("origin");
  if (origin !== null) return origin === siteOrigin(req, proxyHops);
  const site = req.headers.get("sec-fetch-site");
  if (site !== null) return site === "same-origin" || site === "none";
  return true;
}

/** What a browser sends as Origin: a scheme, a host (or a bracketed IPv6 address) and maybe a port. */
const BROWSER_ORIGIN = /^https?:\/\/([a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(:\d{1,5})?$/;

/**
 * Why a post from this site's own page was refused as cross-origin, when it was: the browser says
 * the request is same-origin (Sec-Fetch-Site, which no page can forge), yet its Origin is not the
 * origin this server works out for itself. Then every form of the site fails, and the cause is
 * the server's idea of its own address (a proxy that does not say https, or passes another
 * Host), never the person. The sentence and its fix, for the log; null otherwise.
 */
export function ownOriginMismatch(req: Request, proxyHops: number): string | null {
  const origin = req.headers.get("origin");
  if (origin === null || req.headers.get("sec-fetch-site") !== "same-origin") return null;
  // A browser's Origin is a scheme, a host and maybe a port, nothing more: anything else (a user
  // part, a path, an email) was written by hand, is no page of this site, and is not quoted.
  if (!BROWSER_ORIGIN.test(origin)) return null;
  const site = siteOrigin(req, proxyHops);
  if (origin === site) return null;
  const said = (value: string) => JSON.stringify(value.slice(0, 200));
  const schemeOnly = origin.replace(/^https?:/, "") === site.replace(/^https?:/, "");
  const fix = schemeOnly
    ? proxyHops > 0
      ? "If the site is served over https through proxies of yours, the one that terminates TLS must send X-Forwarded-Proto: https, and every proxy behind it pass it on (TRUST_PROXY counts them)."
      : "If the site is served over https through a proxy of yours that terminates TLS, set TRUST_PROXY=1 (or the number of proxies in a row) and have it send X-Forwarded-Proto: https; with no proxy in front, leave TRUST_PROXY unset."
    : "If the site is served at that address through a proxy of yours, it must pass the browser's Host header (nginx: proxy_set_header Host $host), or X-Forwarded-Host with TRUST_PROXY set.";
  return `a browser posted from a page at ${said(origin)}, which it says is this site (Sec-Fetch-Site: same-origin), but this server takes its own address to be ${said(site)}, so it refused the post as cross_origin; if that page is the site's own, every form of the site is refused so. ${fix}`;
}

function mediaType(req: Request): string {
  return (req.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
}

/**
 * How a JSON body's bytes become text: the `charset` its Content-Type declares (JSON is UTF-8,
 * RFC 8259 §8.1, but a client may say otherwise), strictly, so a byte that is not text is an
 * error and never a silent U+FFFD in a password. A leading byte order mark is dropped (§8.1
 * allows ignoring one). Null for a charset no decoder knows.
 */
function jsonDecoder(req: Request): TextDecoder | null {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(req.headers.get("content-type") ?? "")?.[1] ?? "utf-8";
  try {
    return new TextDecoder(charset, { fatal: true });
  } catch {
    return null;
  }
}

/** A plain HTML form post (url-encoded), as a browser without JavaScript sends one. */
export function isFormPost(req: Request): boolean {
  return req.method === "POST" && mediaType(req) === "application/x-www-form-urlencoded";
}

/** A body the client stopped sending before its end. */
const CUT_OFF = Symbol("cut off");

/** Reads at most MAX_BODY_BYTES without trusting Content-Length alone. */
async function readLimited(req: Request): Promise<Buffer | null | typeof CUT_OFF> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) return null;
  if (!req.body) return Buffer.alloc(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch {
      // The client went away mid-body (ECONNRESET): what arrived is no body, and nothing failed here.
      return CUT_OFF;
    }
    const { done, value } = chunk;
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/**
 * Parses a JSON object or a url-encoded form, in the contract's order: size, media type, syntax,
 * shape. With `optional`, an empty body is an empty object, whatever its content type: Next
 * hands every POST a body stream, empty or not, so emptiness is read, not assumed.
 */
export async function readBody(req: Request, options: { optional?: boolean } = {}): Promise<BodyResult> {
  const type = mediaType(req);
  const form = type === "application/x-www-form-urlencoded";
  if (Number(req.headers.get("content-length") ?? "0") > MAX_BODY_BYTES) return { ok: false, code: "payload_too_large", form };
  // A compressed body (Content-Encoding: gzip) would be read as its compressed bytes: a format
  // this server does not take, said as such rather than as unparseable JSON.
  const encoding = req.headers.get("content-encoding")?.trim().toLowerCase();
  if (encoding && encoding !== "identity") return { ok: false, code: "unsupported_media_type", form };
  if (options.optional) {
    // No body is the empty object, also under a type that would have described one: JSON (what
    // `fetch` sends with that header and no body), a form, or text (fetch's type for body ""). A
    // body that is there must be JSON or a form; other types stay 415 as the contract says.
    if (type !== "" && type !== "application/json" && type !== "text/plain" && !form) return { ok: false, code: "unsupported_media_type", form };
    const bytes = await readLimited(req);
    if (bytes === null) return { ok: false, code: "payload_too_large", form };
    if (bytes === CUT_OFF) return { ok: false, code: "invalid_json", form };
    if (/^[\t\n\r ]*$/.test(bytes.toString("latin1"))) return { ok: true, body: {}, form };
    if (!form && type !== "application/json") return { ok: false, code: "unsupported_media_type", form };
    return parseBody(req, bytes, form);
  }
  if (!form && type !== "application/json") return { ok: false, code: "unsupported_media_type", form };
  const bytes = await readLimited(req);
  if (bytes === null) return { ok: false, code: "payload_too_large", form };
  // Unparseable, as far as this side can tell; the client that sent half of it reads no answer.
  if (bytes === CUT_OFF) return { ok: false, code: "invalid_json", form };
  return parseBody(req, bytes, form);
}

/** `%XX` to its byte, as the URL standard's percent-decode does: a `%` not followed by two hex digits stays. */
function percentDecode(bytes: Buffer): Buffer {
  const hex = (byte: number | undefined) => byte !== undefined && ((byte >= 0x30 && byte <= 0x39) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x66));
  const out = Buffer.alloc(bytes.length);
  let length = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x25 && hex(bytes[i + 1]) && hex(bytes[i + 2])) {
      out[length++] = parseInt(bytes.subarray(i + 1, i + 3).toString("latin1"), 16);
      i += 2;
    } else out[length++] = bytes[i]!;
  }
  return out.subarray(0, length);
}

/** An escape of a byte above ASCII: only such escapes can spell bytes that are not UTF-8. */
const HIGH_ESCAPE = /%[89a-f][0-9a-f]/i;

/**
 * What a form value whose bytes are not UTF-8 becomes: a control character, which no field takes
 * (every field refuses one as invalid_format, and a failed post's draft never keeps one), never a
 * U+FFFD saved inside a password.
 */
const NOT_TEXT = "\u0000";

/**
 * A url-encoded form, parsed as URLSearchParams parses it (`+` is a space, the last of a repeated
 * name counts), except that a value whose bytes are not UTF-8 (`%FF`) is NOT_TEXT, so the
 * endpoint refuses exactly the fields it reads that carry one and the rest of the form is read as
 * sent; a pair whose name is not UTF-8 names no field and is dropped. Null for a body whose bytes
 * are not text outside any escape. A body whose escapes all spell UTF-8 is URLSearchParams' own
 * work; one that does not is split and decoded here, pair by pair, at about the same cost (never
 * through U+FFFD, which URLSearchParams makes slowly).
 */
function parseForm(bytes: Buffer): Body | null {
  if (!isUtf8(bytes)) return null;
  const text = bytes.toString("utf8");
  // Bytes an escape spells are UTF-8 in every name and value exactly when they are in the body
  // as a whole: a separator is ASCII, which no multi-byte character holds.
  if (!HIGH_ESCAPE.test(text) || isUtf8(percentDecode(bytes))) return Object.fromEntries(new URLSearchParams(text));
  const decode = (raw: string) => {
    const decoded = percentDecode(Buffer.from(raw.replaceAll("+", " "), "utf8"));
    return isUtf8(decoded) ? decoded.toString("utf8") : null;
  };
  const entries: [string, string][] = [];
  for (const pair of text.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = decode(eq < 0 ? pair : pair.slice(0, eq));
    if (name !== null) entries.push([name, (eq < 0 ? "" : decode(pair.slice(eq + 1))) ?? NOT_TEXT]);
  }
  return Object.fromEntries(entries);
}

function parseBody(req: Request, bytes: Buffer, form: boolean): BodyResult {
  if (form) {
    const parsed = parseForm(bytes);
    return parsed ? { ok: true, body: parsed, form } : { ok: false, code: "invalid_input", form, fields: { body: "invalid_format" } };
  }
  const decoder = jsonDecoder(req);
  if (!decoder) return { ok: false, code: "unsupported_media_type", form };
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch {
    return { ok: false, code: "invalid_json", form };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { ok: false, code: "invalid_input", form, fields: { body: "invalid_format" } };
  }
  return { ok: true, body: parsed as Body, form };
}
