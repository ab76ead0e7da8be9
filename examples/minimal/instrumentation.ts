/**
 * Runs once when the server starts: the example cannot serve a page without Redis, so a missing
 * REDIS_URL stops `next start` with one clear line instead of failing on the first request.
 */
export function register(): void {
  if (process.env.NEXT_RUNTIME === "nodejs" && !process.env.REDIS_URL) {
    throw new Error("REDIS_URL is not set: start the example with REDIS_URL=redis://host:port (see examples/minimal/README.md).");
  }
}
