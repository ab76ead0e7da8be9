import net from "node:net";
import { challengePath, proofFrom, type Proof, type ProofLevel } from "../pow";

/**
 * The security suite's only way to talk to the server: every request is counted, and every
 * answer goes through the checks that hold for all of them (no 5xx, no stack trace or SQL or
 * backend name in a body, cookie attributes, no-store), before a part checks what it expected.
 */

export interface SecurityReport {
  requests: number;
  fiveXx: number;
  unexpectedAccepts: number;
  failures: string[];
  secrets: string[];
}

export const COOKIE = "holdfast_session";

/** The codes of shared/CONTRACT.md; `internal_error` is deliberately absent: a 500 is a bug. */
export const CONTRACT_CODES = new Set([
  "invalid_input", "invalid_json", "no_session", "session_unknown", "captcha_missing", "captcha_expired",
  "captcha_invalid", "pow_invalid", "unauthenticated", "invalid_credentials", "cross_origin", "username_taken", "email_taken",
  "payload_too_large", "unsupported_media_type", "rate_limited", "session_store_unavailable",
]);

const POST_ENDPOINTS = new Set(["/api/register", "/api/login", "/api/logout", "/api/password"]);
const SESSION_ENDPOINTS = new Set([...POST_ENDPOINTS, "/api/me", "/api/captcha"]);

const LEAKS: [string, RegExp][] = [
  ["a stack trace", /\bat\s+(?:\S+\s+\()?(?:file:\/\/|node:|\/)[^\s)]*:\d+(?::\d+)?|\bat\s+\S+\s+\([^)]*\.[cm]?[jt]sx?:\d+/],
  ["SQL", /\b(?:SELECT\s+[\w"*,.\s]+\s+FROM|INSERT\s+INTO|UPDATE\s+"?\w+"?\s+SET|DELETE\s+FROM|ON\s+CONFLICT)\b/i],
  ["a backend name", /prisma|postgres|redis|ECONNREFUSED|\bP20\d\d\b/i],
];

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
  ms: number;
  /** Answered by the app rather than by nginx or Next's own 404/405. */
  fromApp: boolean;
  /** The session cookie this response set, as a `name=value` pair; undefined when none or cleared. */
  cookie: string | undefined;
  cleared: boolean;
}

export interface Expectation {
  status: number | number[];
  codes?: string[];
  /** The `error.fields` key that must be present. */
  field?: string;
  /** Statuses nginx itself may answer with (before the app sees the request). */
  proxy?: number[];
  /** For a redirect: the Location it must name. */
  location?: string;
}

export interface SendInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
  cookie?: string;
  /** Another origin, e.g. an instance directly rather than through the proxy. */
  base?: string;
  /** The caller reports a 5xx in its own words; it is still counted. */
  summarized?: boolean;
}

export const errorCode = (r: Reply): string | undefined => (r.json as { error?: { code?: unknown } } | null)?.error?.code as string | undefined;

export class Probe {
  readonly report: SecurityReport;
  readonly #secrets: Set<string>;

  /** A probe of `base`; one made from another shares its report, so two servers add up to one count. */
  constructor(readonly base: string, shared?: Probe) {
    this.report = shared?.report ?? { requests: 0, fiveXx: 0, unexpectedAccepts: 0, failures: [], secrets: [] };
    this.#secrets = shared ? shared.#secrets : new Set();
  }

  secret(value: string | undefined): void {
    if (value && !this.#secrets.has(value)) {
      this.#secrets.add(value);
      this.report.secrets.push(value);
    }
  }

  fail(message: string): void {
    this.report.failures.push(message);
  }

  /** One HTTP request, counted and checked. Network errors are failures, with no response. */
  async send(label: string, path: string, init: SendInit = {}): Promise<Reply | null> {
    const method = init.method ?? "GET";
    const headers: Record<string, string> = { ...init.headers };
    if (init.cookie !== undefined) {
      headers.cookie = init.cookie;
      for (const part of init.cookie.split(";")) if (part.trim().startsWith(`${COOKIE}=`)) this.secret(part.trim().slice(COOKIE.length + 1));
    }
    this.report.requests++;
    const started = performance.now();
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${init.base ?? this.base}${path}`, { method, headers, body: init.body, redirect: "manual", signal: AbortSignal.timeout(60_000) });
      text = await response.text();
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      this.fail(`${label}: ${method} ${path} got no response (${cause})`);
      return null;
    }
    const ms = performance.now() - started;
    let json: unknown = null;
    if ((response.headers.get("content-type") ?? "").includes("json")) {
      try {
        json = JSON.parse(text);
      } catch {
        this.fail(`${label}: ${method} ${path} → ${response.status} with a JSON content type but an unparsable body`);
      }
    }
    const setCookie = response.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE}=`));
    const value = setCookie?.split(";")[0]!.slice(COOKIE.length + 1);
    this.secret(value);
    this.secret(response.headers.get("x-captcha-answer") ?? undefined);
    const reply: Reply = {
      status: response.status,
      headers: response.headers,
      text,
      json,
      ms,
      fromApp: response.headers.has("x-holdfast-instance"),
      cookie: value ? `${COOKIE}=${value}` : undefined,
      cleared: setCookie !== undefined && !value,
    };
    this.#always(label, method, new URL(path, "http://x").pathname, reply, setCookie, init.summarized);
    return reply;
  }

  /** A JSON POST. */
  post(label: string, path: string, body: unknown, init: Omit<SendInit, "method" | "body"> = {}): Promise<Reply | null> {
    return this.send(label, path, {
      ...init,
      method: "POST",
      headers: { "content-type": "application/json", ...init.headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  }

  /** A new captcha: its answer and the cookie that holds it. */
  async captcha(label: string, cookie?: string, headers?: Record<string, string>): Promise<{ reply: Reply; answer: string; cookie: string } | null> {
    const reply = await this.send(label, "/api/captcha", { cookie, headers });
    if (!reply) return null;
    const answer = reply.headers.get("x-captcha-answer");
    const jar = reply.cookie ?? cookie;
    if (reply.status !== 200 || !answer || !jar) {
      this.fail(`${label}: a captcha was expected, got ${reply.status} ${errorCode(reply) ?? ""}`.trim());
      return null;
    }
    return { reply, answer, cookie: jar };
  }

  /**
   * A solved proof of work for the `altcha` field: GET /api/challenge (counted and checked like
   * every request), solved here. Each is single-use, so every register attempt takes its own.
   */
  async proof(label: string, level: ProofLevel = "normal", headers?: Record<string, string>): Promise<Proof | null> {
    const reply = await this.send(label, challengePath(level), { headers });
    if (!reply) return null;
    if (reply.status !== 200) {
      this.fail(`${label}: a proof-of-work challenge was expected, got ${reply.status} ${errorCode(reply) ?? ""}`.trim());
      return null;
    }
    try {
      return proofFrom(reply.text, `${label}: GET ${challengePath(level)}`);
    } catch (error) {
      this.fail((error as Error).message);
      return null;
    }
  }

  /** Just the payload of `proof`, or "" when none came (the attempt then fails visibly on its own). */
  async altcha(label: string, level: ProofLevel = "normal"): Promise<string> {
    return (await this.proof(label, level))?.payload ?? "";
  }

  /** Checks an expected outcome; a 2xx where a refusal was expected is an unexpected accept. */
  expect(label: string, reply: Reply | null, want: Expectation): boolean {
    if (!reply) return false;
    const statuses = [want.status].flat();
    if (!reply.fromApp && want.proxy?.includes(reply.status)) return true;
    const code = errorCode(reply);
    const problems: string[] = [];
    if (!statuses.includes(reply.status)) problems.push(`status ${reply.status}, expected ${statuses.join("/")}`);
    if (want.codes && !want.codes.includes(code ?? "")) problems.push(`code ${code ?? "(none)"}, expected ${want.codes.join("/")}`);
    if (want.field) {
      const fields = (reply.json as { error?: { fields?: Record<string, string> } } | null)?.error?.fields;
      if (!fields?.[want.field]) problems.push(`no fields.${want.field} (fields: ${JSON.stringify(fields ?? {})})`);
    }
    if (want.location !== undefined && reply.headers.get("location") !== want.location) problems.push(`Location ${reply.headers.get("location") ?? "(none)"}, expected ${want.location}`);
    if (problems.length === 0) return true;
    // A 5xx is already counted and reported, once, by the checks every response gets.
    if (reply.status >= 500) return false;
    if (reply.status >= 200 && reply.status < 300 && !statuses.some((s) => s >= 200 && s < 300)) this.report.unexpectedAccepts++;
    this.fail(`${label}: ${problems.join("; ")}`);
    return false;
  }

  #always(label: string, method: string, path: string, r: Reply, setCookie: string | undefined, summarized = false): void {
    const code = errorCode(r);
    if (r.status >= 500) {
      this.report.fiveXx++;
      if (!summarized) this.fail(`${label}: ${method} ${path} → ${r.status}${code ? ` ${code}` : ""}`);
    }
    if (!(r.headers.get("content-type") ?? "").startsWith("image/svg+xml")) {
      for (const [what, pattern] of LEAKS) if (pattern.test(r.text)) this.fail(`${label}: the ${r.status} body of ${method} ${path} contains ${what}`);
    }
    if (r.fromApp && method === "POST" && POST_ENDPOINTS.has(path) && r.status >= 400 && r.status < 500) {
      const message = (r.json as { error?: { message?: unknown } } | null)?.error?.message;
      if (!code || !CONTRACT_CODES.has(code) || typeof message !== "string") {
        this.fail(`${label}: ${r.status} to POST ${path} is not a contract error body (code ${code ?? "none"})`);
      }
    }
    if (setCookie) {
      for (const attribute of [/;\s*HttpOnly\s*(;|$)/i, /;\s*SameSite=Lax\s*(;|$)/i, /;\s*Path=\/\s*(;|$)/i]) {
        if (!attribute.test(setCookie)) this.fail(`${label}: the session cookie set by ${method} ${path} lacks ${attribute.source.replace(/\\s\*|[;()|$^]/g, "")}`);
      }
    }
    // A challenge stands on its own: never cached, and it touches no session.
    if (r.fromApp && method === "GET" && path === "/api/challenge" && r.status === 200) {
      if (!/no-store/i.test(r.headers.get("cache-control") ?? "")) this.fail(`${label}: GET ${path} → 200 without Cache-Control: no-store`);
      if (setCookie) this.fail(`${label}: GET ${path} set a session cookie`);
    }
    if ((setCookie || (r.fromApp && SESSION_ENDPOINTS.has(path))) && r.status !== 405) {
      if (!/no-store/i.test(r.headers.get("cache-control") ?? "")) this.fail(`${label}: ${method} ${path} → ${r.status} without Cache-Control: no-store`);
      if (!/(^|,)\s*cookie\s*(,|$)/i.test(r.headers.get("vary") ?? "")) this.fail(`${label}: ${method} ${path} → ${r.status} without Vary: Cookie`);
    }
  }

  /**
   * Bytes fetch refuses to send (CR, LF, NUL in headers, smuggling shapes), over a raw socket.
   * Only the status line matters: never a 5xx, and one of `allowed` (0 = closed without answer).
   */
  async raw(label: string, request: string | Buffer, allowed: number[]): Promise<number> {
    this.report.requests++;
    const { hostname, port } = new URL(this.base);
    const data = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      const socket = net.connect({ host: hostname, port: Number(port) }, () => socket.write(request));
      socket.setTimeout(10_000, () => socket.destroy());
      socket.on("data", (c: Buffer) => chunks.push(c));
      socket.on("error", () => {});
      socket.on("close", () => resolve(Buffer.concat(chunks)));
    });
    const text = data.toString("latin1");
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
    if (status >= 500) {
      this.report.fiveXx++;
      this.fail(`${label}: raw request → ${status}`);
    } else if (!allowed.includes(status)) {
      if (status >= 200 && status < 300) this.report.unexpectedAccepts++;
      this.fail(`${label}: raw request → ${status || "closed without an answer"}, expected ${allowed.join("/")}`);
    }
    const body = text.slice(text.indexOf("\r\n\r\n") + 4);
    for (const [what, pattern] of LEAKS) if (pattern.test(body)) this.fail(`${label}: the raw ${status} body contains ${what}`);
    return status;
  }
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
