import { isSameOrigin, readBody } from "../http/request";
import { checkPassword, findAccount, loginKey, passwordUnchanged } from "../users";
import { loginInput, validate, type FieldErrors } from "../validation";
import { claimedDevice, deviceCookie, deviceHolds } from "./device";
import { USER_KEY } from "./me";
import { afterLogin, client, draftKey, failure, formFailure, keepDraft, limited, seeOther, type RequestContext } from "./context";

const LOGIN_DRAFT_FIELDS = ["login"] as const;

/** POST /api/login: a new session token for every successful login. */
export async function login(ctx: RequestContext): Promise<Response> {
  const { req, session, services } = ctx;
  if (!isSameOrigin(req, services.config.proxyHops)) return failure(ctx, "cross_origin");
  const byAddress = await limited(ctx, "login", client(ctx));
  if (byAddress) return byAddress;
  const parsed = await readBody(req);
  if (!parsed.ok) return failure(ctx, parsed.code, parsed.fields);
  const { body, form } = parsed;

  // The form names it in its action's query too (see lib/http/route.ts backToForm).
  const next = afterLogin(body.next ?? new URL(req.url).searchParams.get("next"));
  const fail = async (code: "invalid_input" | "invalid_credentials" | "rate_limited", fields?: FieldErrors, retryAfter?: string) => {
    if (!form) return failure(ctx, code, fields);
    await keepDraft(ctx, "login", body, LOGIN_DRAFT_FIELDS);
    return formFailure("/login", code, fields, retryAfter, next);
  };

  const input = validate(loginInput, body);
  if (!input.ok) return fail("invalid_input", input.fields);
  // A login reads the session to carry it over; the read overlaps the account's lookup and hash.
  session.prefetch();
  const account = await findAccount(services.db, input.value.login);
  // Per account name as well (the username or the email, each its own count), so guessing one
  // account's password from many addresses is slow too. A browser that logged in to this account
  // before (its device cookie) counts apart, so wrong passwords from elsewhere never lock it out.
  const device = claimedDevice(req, services.config);
  const known = account.user !== null && deviceHolds(device, account.user.id, account.user.passwordHash, services.config);
  const byAccount = await limited(ctx, "loginAccount", known ? `d:${device!.nonce}` : loginKey(input.value.login, services.config.secrets));
  // A plain form post goes back to the login page here, not through the route's, so it keeps `next`.
  if (byAccount) return form ? fail("rate_limited", undefined, byAccount.headers.get("retry-after") ?? undefined) : byAccount;
  const verified = await checkPassword(services.db, account, input.value.password, services.config.passwordHashCost);
  if (!verified) return fail("invalid_credentials");
  const { user } = verified;

  await session.unset(draftKey("login"));
  await session.logIn(user.id);
  await session.set(USER_KEY, user);
  // A password change that lands while this login is checked revokes the user's sessions before
  // this one is written. So once it is written, the password is read again: changed, and this
  // login never happened (its session is not sent). Unchanged, and any change comes later, so
  // its revocation finds this session.
  ctx.afterCommit(async () => {
    if (await passwordUnchanged(services.db, user.id, verified.passwordHash, input.value.password, services.config.passwordHashCost)) return null;
    return form ? formFailure("/login", "invalid_credentials", undefined, undefined, next) : failure(ctx, "invalid_credentials");
  });
  // `from=login`: should this browser have refused the cookie, the page it lands on sends it
  // back to the login page saying so, rather than to an empty login form.
  const response = form ? seeOther(`${next}?from=login`) : Response.json({ user });
  // Every time, under the hash the password now has (a login may have upgraded it): a browser in use keeps its cookie.
  response.headers.append("set-cookie", deviceCookie(user.id, verified.passwordHash, services.config, services.sessions.secure(req)));
  return response;
}
