import { findUser } from "../users";
import { failure, type RequestContext } from "./context";

/** GET /api/me: the logged-in user, or 401. */
export async function me(ctx: RequestContext): Promise<Response> {
  const userId = await ctx.session.userId();
  const user = userId ? await findUser(ctx.services.db, userId) : null;
  if (!user) return failure(ctx, "unauthenticated");
  return Response.json({ user });
}
