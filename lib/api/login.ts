import { isSameOrigin, readBody } from "../http/request";
import { authenticate } from "../users";
import { loginInput, validate } from "../validation";
import { client, failure, field, fieldList, formFailure, limited, seeOther, type RequestContext } from "./context";

/** POST /api/login: a new session token for every successful login. */
export async function login(ctx: RequestContext): Promise<Response> {
  const { req, session, services } = ctx;
  if (!isSameOrigin(req, services.config.trustProxy)) return failure(ctx, "cross_origin");
  const byAddress = await limited(ctx, "login", client(ctx));
  if (byAddress) return byAddress;
  const parsed = await readBody(req);
  if (!parsed.ok) return failure(ctx, parsed.code);
  const { body, form } = parsed;

  const input = validate(loginInput, body);
  if (!input.ok) {
    return form
      ? formFailure("/login", "invalid_input", { fields: fieldList(input.fields), login: field(body, "login") })
      : failure(ctx, "invalid_input", input.fields);
  }
  // Per account as well, so guessing one account's password from many addresses is slow too.
  const byAccount = await limited(ctx, "loginAccount", input.value.login.toLowerCase());
  if (byAccount) return byAccount;
  const user = await authenticate(services.db, input.value.login, input.value.password, services.config.passwordHashCost);
  if (!user) return form ? formFailure("/login", "invalid_credentials", { login: input.value.login }) : failure(ctx, "invalid_credentials");

  await session.logIn(user.id);
  return form ? seeOther("/welcome") : Response.json({ user });
}
