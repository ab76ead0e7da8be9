import { isSameOrigin, readBody } from "../http/request";
import { logoutInput, validate } from "../validation";
import { failure, seeOther, type RequestContext } from "./context";

/** POST /api/logout: the session is destroyed on the server; `everywhere` also ends the user's other sessions. */
export async function logout(ctx: RequestContext): Promise<Response> {
  const { req, session, services } = ctx;
  if (!isSameOrigin(req, services.config.proxyHops)) return failure(ctx, "cross_origin");
  const parsed = await readBody(req, { optional: true });
  if (!parsed.ok) return failure(ctx, parsed.code, parsed.fields);
  const input = validate(logoutInput, parsed.body);
  if (!input.ok) return failure(ctx, "invalid_input", input.fields);

  // Ending the other sessions needs to know whose they are: a session that already ended (in
  // another tab, or by timing out) cannot say. JSON keeps the contract's 204 (the welcome page
  // asks /api/me first); a form lands on a login page that says the others were not ended.
  const ended = input.value.everywhere && !(await session.userId());
  if (input.value.everywhere) await session.revokeOtherSessions();
  await session.destroy();
  if (!parsed.form) return new Response(null, { status: 204 });
  // The login page says the logout happened, and how far it reached.
  return seeOther(ended ? "/login?error=session_ended" : `/login?out=${input.value.everywhere && services.store.revocable ? "everywhere" : "here"}`);
}
