import { isSameOrigin, readBody } from "../http/request";
import { checkPassword, findAccount } from "../users";
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
  const account = await findAccount(services.db, input.value.login);
  // Per account as well (by user, whether named by username or email), so guessing one
  // account's password from many addresses is slow too.
  const byAccount = await limited(ctx, "loginAccount", account.key);
  if (byAccount) return byAccount;
  const user = await checkPassword(services.db, account, input.value.password, services.config.passwordHashCost);
  if (!user) return form ? formFailure("/login", "invalid_credentials", { login: input.value.login }) : failure(ctx, "invalid_credentials");

  await session.logIn(user.id);
  return form ? seeOther("/welcome") : Response.json({ user });
}
