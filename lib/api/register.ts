import { checkCaptcha } from "../captcha/captcha";
import type { ErrorCode } from "../http/errors";
import { isSameOrigin, readBody } from "../http/request";
import { createUser } from "../users";
import { registerInput, validate, type FieldErrors } from "../validation";
import { client, draftKey, failure, formFailure, keepDraft, limited, seeOther, type RequestContext } from "./context";

/** What a failed plain form post keeps for the page to show again (the password never). */
export const SIGNUP_DRAFT_FIELDS = ["username", "email"] as const;

/** POST /api/register, in the contract's order: origin, body, shape, session, captcha, uniqueness. */
export async function register(ctx: RequestContext): Promise<Response> {
  const { req, session, services } = ctx;
  if (!isSameOrigin(req, services.config.trustProxy)) return failure(ctx, "cross_origin");
  const refused = await limited(ctx, "register", client(ctx));
  if (refused) return refused;
  const parsed = await readBody(req);
  if (!parsed.ok) return failure(ctx, parsed.code, parsed.fields);
  const { body, form } = parsed;

  const fail = async (code: ErrorCode, fields?: FieldErrors) => {
    if (!form) return failure(ctx, code, fields);
    await keepDraft(ctx, "signup", body, SIGNUP_DRAFT_FIELDS);
    return formFailure("/signup", code, fields);
  };

  const input = validate(registerInput, body);
  if (!input.ok) return fail("invalid_input", input.fields);

  const captcha = await checkCaptcha(session, services.captchas, input.value.captcha, {});
  if (captcha !== "ok") return fail(captcha);

  const created = await createUser(services.db, input.value, services.config.passwordHashCost);
  if (!created.ok) return fail(created.code);

  await session.unset(draftKey("signup"));
  await session.logIn(created.user.id);
  return form ? seeOther("/welcome") : Response.json({ user: created.user }, { status: 201 });
}
