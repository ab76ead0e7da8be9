import { config } from "@/lib/env";
import { metricsHandler } from "@/lib/signals/metrics-endpoint";

/**
 * This instance's signals in Prometheus text format, for `npm run doctor -- --url` and a
 * Prometheus scraper: only with `Authorization: Bearer <METRICS_TOKEN>`, and a 404 for every
 * method while METRICS_TOKEN is unset (so the endpoint does not even show that it exists).
 */
const handler = metricsHandler({ token: () => config().metricsToken, instance: () => config().instanceName });

export const GET = handler;
export const HEAD = handler;
export const POST = handler;
export const PUT = handler;
export const PATCH = handler;
export const DELETE = handler;
export const OPTIONS = handler;
export const dynamic = "force-dynamic";
