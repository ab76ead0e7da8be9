import { createHash, timingSafeEqual } from "node:crypto";
import { errorResponse } from "../http/errors";
import { prometheusText } from "./registry";

/**
 * The metrics endpoint: Prometheus text for whoever presents `Authorization: Bearer
 * <METRICS_TOKEN>`, and nothing for anyone else. Unset METRICS_TOKEN turns it off: every request
 * is the contract's 404, as if the path named no endpoint. Otherwise a missing or wrong token
 * is 401, so an operator can tell "off" from "wrong token". The token is never logged or echoed.
 */

/**
 * Constant-time equality of two secrets. Both sides are hashed first, so the comparison always
 * runs over 32 bytes and takes as long whatever the inputs' lengths or first differing byte.
 */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

const BEARER = /^Bearer +([^\s]+) *$/i;

function bearer(req: Request): string | undefined {
  return BEARER.exec(req.headers.get("authorization") ?? "")?.[1];
}

const PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

export interface MetricsHandlerOptions {
  /** METRICS_TOKEN from the parsed configuration, read per request; undefined turns the endpoint off. */
  token: () => string | undefined;
  /** The text to serve; the process's registry by default. */
  text?: () => Promise<string>;
  /** INSTANCE_NAME, sent as X-Holdfast-Instance (as every route does), so the doctor can name an instance that answers 404. */
  instance?: () => string | undefined;
}

export function metricsHandler(options: MetricsHandlerOptions): (req: Request) => Promise<Response> {
  const text = options.text ?? prometheusText;
  return async (req) => {
    const name = options.instance?.();
    const noStore: Record<string, string> = { "cache-control": "no-store", ...(name ? { "x-holdfast-instance": name } : {}) };
    const expected = options.token();
    if (!expected) return errorResponse("not_found", { headers: noStore });
    if (req.method !== "GET" && req.method !== "HEAD") {
      return errorResponse("method_not_allowed", { headers: { ...noStore, allow: "GET, HEAD" } });
    }
    const given = bearer(req);
    if (given === undefined || !sameSecret(given, expected)) {
      return errorResponse("unauthenticated", {
        message: "This endpoint needs the header Authorization: Bearer <METRICS_TOKEN>.",
        headers: { ...noStore, "www-authenticate": 'Bearer realm="metrics"' },
      });
    }
    let body: string;
    try {
      body = await text();
    } catch (error) {
      console.error(`[holdfast] metrics collection failed: ${(error as { name?: string })?.name ?? "unknown"}`);
      return errorResponse("internal_error", { headers: noStore });
    }
    return new Response(req.method === "HEAD" ? null : body, { status: 200, headers: { ...noStore, "content-type": PROMETHEUS_TEXT } });
  };
}
