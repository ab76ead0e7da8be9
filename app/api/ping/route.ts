import { endpoint } from "@/lib/http/route";

// Next's own floor for the benchmarks: a route that touches no session, no store and no config.
export const dynamic = "force-dynamic";
export const { GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS } = endpoint({ GET: async () => Response.json({ ok: true }) });
