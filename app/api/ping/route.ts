// Next's own floor for the benchmarks: a route that touches no session, no store and no config.
export const dynamic = "force-dynamic";

export function GET(): Response {
  return Response.json({ ok: true });
}
