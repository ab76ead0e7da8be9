import { isSameOrigin, readBody } from "../http/request";
import { checkPassword, findAccount } from "../users";
import { loginInput, validate, type FieldErrors } from "../validation";
import { USER_KEY } from "./me";
import { client, draftKey, failure, formFailure, keepDraft, limited, seeOther, type RequestContext } from "./context";

const LOGIN_DRAFT_FIELDS = ["login"] as const;

/** POST /api/login: a new session token for every successful login. */
export async function login(ctx: RequestContext): Promise<Response> {
  const { req, session, services } = ctx;
  if (!isSameOrigin(req, services.config.trustProxy)) return failure(ctx, "cross_origin");
  const byAddress = await limited(ctx, "login", client(ctx));
  if (byAddress) return byAddress;
  const parsed = await readBody(req);
  if (!parsed.ok) return failure(ctx, parsed.code, parsed.fields);
  const { body, form } = parsed;

  const fail = async (code: "invalid_input" | "invalid_credentials", fields?: FieldErrors) => {
    if (!form) return failure(ctx, code, fields);
    await keepDraft(ctx, "login", body, LOGIN_DRAFT_FIELDS);
    return formFailure("/login", code, fields);
  };

  const input = validate(loginInput, body);
  if (!input.ok) return fail("invalid_input", input.fields);
  // A login reads the session to carry it over; the read overlaps the account's lookup and hash.
  session.prefetch();
  const account = await findAccount(services.db, input.value.login);
  // Per account as well (by user, whether named by username or email), so guessing one
  // account's password from many addresses is slow too.
  const byAccount = await limited(ctx, "loginAccount", account.key);
  if (byAccount) return byAccount;
  const user = await checkPassword(services.db, account, input.value.password, services.config.passwordHashCost);
  if (!user) return fail("invalid_credentials");

  await session.unset(draftKey("login"));
  await session.logIn(user.id);
  await session.set(USER_KEY, user);
  return form ? seeOther("/welcome") : Response.json({ user });
}
