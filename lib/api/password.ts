import { isSameOrigin, readBody } from "../http/request";
import { changePassword, findUser, loginKey, storedHash, type PublicUser } from "../users";
import type { ErrorCode } from "../http/errors";
import { passwordChangeInput, validate, type FieldErrors } from "../validation";
import { claimedDevice, deviceCookie, deviceHolds } from "./device";
import { USER_KEY } from "./me";
import { client, failure, formFailure, limited, seeOther, type RequestContext } from "./context";
import { loadCommonPasswords } from "../common-passwords";

/** When this session last changed the account's password (epoch ms). */
export const PASSWORD_CHANGED_KEY = "passwordChangedAt";

/**
 * POST /api/password: a new password ends every other session of the user (where the store can
 * revoke) and rotates this one's token.
 */
export async function password(ctx: RequestContext): Promise<Response> {
  const { req, session, services } = ctx;
  if (!isSameOrigin(req, services.config.proxyHops)) return failure(ctx, "cross_origin");
  // The current password is checked as a login checks it, so it counts as a login attempt: per
  // address, and against the budgets the account's logins spend, by username and by email.
  const byAddress = await limited(ctx, "login", client(ctx));
  if (byAddress) return byAddress;
  const parsed = await readBody(req);
  if (!parsed.ok) return failure(ctx, parsed.code, parsed.fields);
  const fail = (code: ErrorCode, fields?: FieldErrors) => (parsed.form ? formFailure("/password", code, fields) : failure(ctx, code, fields));

  await loadCommonPasswords();
  const input = validate(passwordChangeInput, parsed.body);
  if (!input.ok) return fail("invalid_input", input.fields);
  const userId = await session.userId();
  if (!userId) return fail("unauthenticated");
  // The new password the same as the one typed as current would change nothing but end the
  // other sessions (which "log out everywhere" does): said before any hash is spent, compared as
  // the hash compares them. Whether the typed one is right is not checked, nor said.
  const { currentPassword, newPassword } = input.value;
  if (newPassword.normalize("NFKC") === currentPassword.normalize("NFKC")) return fail("invalid_input", { newPassword: "unchanged" });
  const kept = await session.get<PublicUser>(USER_KEY);
  const user = kept?.id === userId ? kept : await findUser(services.db, userId);
  if (!user) return fail("unauthenticated");
  // From one of the account's devices (lib/api/device.ts), its own budget: never the names', which
  // a stranger's wrong logins can fill.
  const device = claimedDevice(req, services.config);
  // The signature covers the password hash: read only when the cookie claims this very account.
  const known = device?.userId === userId && deviceHolds(device, userId, (await storedHash(services.db, userId)) ?? "", services.config);
  const keys = known ? [`d:${device!.nonce}`] : [user.username, user.email].map((name) => loginKey(name, services.config.secrets));
  const byAccount = (await Promise.all(keys.map((key) => limited(ctx, "loginAccount", key)))).find((refusal) => refusal !== null) ?? null;
  if (byAccount) return byAccount;
  const changed = await changePassword(services.db, userId, input.value.currentPassword, input.value.newPassword, services.config.passwordHashCost);
  if (changed === null) return fail("invalid_credentials");

  await session.revokeOtherSessions();
  // What lets /welcome say the password was changed: this session's record of it, not an address
  // any link can carry.
  await session.set(PASSWORD_CHANGED_KEY, Date.now());
  await session.regenerate();
  const response = parsed.form ? seeOther("/welcome?password=changed") : new Response(null, { status: 204 });
  // The new password voids the account's device cookies (they are signed over its hash); this
  // browser, which made the change, stays one of its devices.
  response.headers.append("set-cookie", deviceCookie(userId, changed, services.config, services.sessions.secure(req)));
  return response;
}
