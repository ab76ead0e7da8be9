import { isSameOrigin, readBody } from "../http/request";
import { logoutInput, validate } from "../validation";
import { failure, seeOther, type RequestContext } from "./context";

/** POST /api/logout: the session is destroyed on the server; `everywhere` also ends the user's other sessions. */
export async function logout(ctx: RequestContext): Promise<Response> {
  const { req, session, services } = ctx;
  if (!isSameOrigin(req, services.config.trustProxy)) return failure(ctx, "cross_origin");
  const parsed = await readBody(req, { optional: true });
  if (!parsed.ok) return failure(ctx, parsed.code, parsed.fields);
  const input = validate(logoutInput, parsed.body);
  if (!input.ok) return failure(ctx, "invalid_input", input.fields);

  if (input.value.everywhere) await session.revokeOtherSessions();
  await session.destroy();
  return parsed.form ? seeOther("/login") : new Response(null, { status: 204 });
}
