import { route } from "../../../lib/session";

/** The counter as this session sees it; a read-only request writes nothing. */
export const GET = route(async (_request, session) => Response.json({ visits: (await session.get<number>("visits")) ?? 0 }));

/** Counts one more call in the session; `route()` commits it and sets the cookie. */
export const POST = route(async (_request, session) => {
  const visits = ((await session.get<number>("visits")) ?? 0) + 1;
  await session.set("visits", visits);
  return Response.json({ visits });
});
