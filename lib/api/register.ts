import { checkCaptcha } from "../captcha/captcha";
import type { ErrorCode } from "../http/errors";
import { isSameOrigin, readBody } from "../http/request";
import { createUser } from "../users";
import { registerInput, validate, type FieldErrors } from "../validation";
import { client, failure, field, fieldList, formFailure, limited, seeOther, type RequestContext } from "./context";

/** POST /api/register, in the contract's order: origin, body, shape, session, captcha, uniqueness. */
export async function register(ctx: RequestContext): Promise<Response> {
  const { req, session, services } = ctx;
  if (!isSameOrigin(req, services.config.trustProxy)) return failure(ctx, "cross_origin");
  const refused = await limited(ctx, "register", client(ctx));
  if (refused) return refused;
  const parsed = await readBody(req);
  if (!parsed.ok) return failure(ctx, parsed.code);
  const { body, form } = parsed;

  const fail = (code: ErrorCode, fields?: FieldErrors) =>
    form
      ? formFailure("/signup", code, {
          fields: fields && fieldList(fields),
          username: field(body, "username", 64),
          email: field(body, "email"),
        })
      : failure(ctx, code, fields);

  const input = validate(registerInput, body);
  if (!input.ok) return fail("invalid_input", input.fields);

  const captcha = await checkCaptcha(session, services.captchas, input.value.captcha, {});
  if (captcha !== "ok") return fail(captcha);

  const created = await createUser(services.db, input.value, services.config.passwordHashCost);
  if (!created.ok) return fail(created.code);

  await session.logIn(created.user.id);
  return form ? seeOther("/welcome") : Response.json({ user: created.user }, { status: 201 });
}
