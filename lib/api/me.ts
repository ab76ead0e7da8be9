import { findUser, type PublicUser } from "../users";
import { failure, type RequestContext } from "./context";

/** Where a login keeps the user's public fields, so /api/me needs no query; they never change after sign-up. */
export const USER_KEY = "user";

/** GET /api/me: the logged-in user, or 401. */
export async function me(ctx: RequestContext): Promise<Response> {
  const userId = await ctx.session.userId();
  if (!userId) return failure(ctx, "unauthenticated");
  const kept = await ctx.session.get<PublicUser>(USER_KEY);
  const user = kept?.id === userId ? kept : await findUser(ctx.services.db, userId);
  if (!user) return failure(ctx, "unauthenticated");
  return Response.json({ user: { id: user.id, username: user.username, email: user.email } });
}
