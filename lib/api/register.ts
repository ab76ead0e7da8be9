import { captchaKeys, checkCaptcha } from "../captcha/captcha";
import { log } from "../log";
import { deviceCookie } from "./device";
import { grantPass, hasPass, takePass } from "../captcha/pass";
import { errorResponse, MEMORY_POW_UNKNOWN, type ErrorCode } from "../http/errors";
import { isSameOrigin, readBody } from "../http/request";
import { checkProof, claimedLevel, powSettings } from "../pow/pow";
import { PasswordHashBusy, takeHashTicket, type HashTicket } from "../password";
import { createUser } from "../users";
import { registerInput, validate, type FieldErrors } from "../validation";
import { USER_KEY } from "./me";
import { client, clientNetwork, draftKey, failure, formFailure, keepDraft, limited, seeOther, type RequestContext } from "./context";
import { loadCommonPasswords } from "../common-passwords";

/** POW_OPTIONAL (benchmark only, refused without BENCHMARK=1): a body without `altcha` skips the proof. Built once: a zod schema made per request costs milliseconds. */
const registerInputWithoutPow = registerInput.partial({ altcha: true });

/** What a failed plain form post keeps for the page to show again (the password never). */
export const SIGNUP_DRAFT_FIELDS = ["username", "email"] as const;

/**
 * POST /api/register, in the contract's order: origin, body, shape, a place among the password
 * hashes (server_busy), proof of work, session, captcha (or the pass a 409 left, or a proof at
 * the accessible level instead), uniqueness.
 */
export async function register(ctx: RequestContext): Promise<Response> {
  const { req, session, services } = ctx;
  if (!isSameOrigin(req, services.config.proxyHops)) return failure(ctx, "cross_origin");
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

  await loadCommonPasswords();
  const input = validate(services.config.powOptional ? registerInputWithoutPow : registerInput, body);
  // A missing captcha is a shape error unless something stands in for it (a proof at the
  // accessible level, or a pass); decided with the other fields and before the proof is spent,
  // so fixing the form costs no new proof.
  const noCaptcha = (body.captcha === undefined || body.captcha === "") && claimedLevel(body.altcha) !== "accessible" && !(await hasPass(session));
  if (!input.ok) return fail("invalid_input", noCaptcha ? { ...input.fields, captcha: "required" } : input.fields);
  if (noCaptcha) return fail("invalid_input", { captcha: "required" });
  const { captcha, altcha } = input.value;

  // The path without the image has a tighter limit per address, counted once the form is right
  // and before its proof (four times the work) is spent: a limited address is told so and keeps
  // its proof, and a typo costs nothing. Counted on the level the proof claims; a proof that lies
  // about it is refused below, having spent its own address's budget and no one else's.
  const accessible = claimedLevel(altcha) === "accessible" && captcha === undefined;
  if (accessible) {
    const tight = await limited(ctx, "registerAccessible", client(ctx));
    if (tight) return tight;
  }

  // Its place in the password-hash queue first: a busy instance says so (server_busy) before the
  // proof and the captcha are spent, and never after, so the same request can be sent again.
  let ticket: HashTicket;
  try {
    ticket = takeHashTicket();
  } catch (error) {
    // JSON: the route answers it (lib/http/route.ts). A form is answered here, so its typed name
    // and email are kept as on any failure.
    if (!(error instanceof PasswordHashBusy) || !form) throw error;
    await keepDraft(ctx, "signup", body, SIGNUP_DRAFT_FIELDS);
    return formFailure("/signup", "server_busy", undefined, "1");
  }
  try {
    // The session is read next (the captcha, a pass) or at the end (the login): its read overlaps the proof's single-use take.
    session.prefetch();
    const proof = altcha === undefined ? ({ verdict: "ok", level: "normal" } as const) : await checkProof(services.captchas, altcha, { hmacKey: powSettings(services.config).hmacKeys });
    if (proof.verdict !== "ok") {
      // With sessions in one process's memory the challenge ledger is too: name that cause.
      const message = proof.reason === "unknown" && !services.store.shared ? MEMORY_POW_UNKNOWN : undefined;
      return form ? fail("pow_invalid") : errorResponse("pow_invalid", { message });
    }

    let solved = false;
    if (proof.level === "accessible" && captcha === undefined) {
      // And per IPv6 /48, where one party holds 65,536 /64s: counted only for a proof that was
      // paid for, so no one can spend the budget of the network they share for free.
      const network = clientNetwork(ctx);
      const wide = network === undefined ? null : await limited(ctx, "registerAccessibleNetwork", network);
      if (wide) return wide;
    } else if (captcha === undefined) {
      if (!session.hasCookie) return fail("no_session");
      if ((await session.state()) !== "live") return fail("session_unknown");
      const pass = await takePass(session, services.captchas);
      // Another attempt of this session (another tab) used it first: the field says so, as a typed
      // captcha used twice is not.
      if (pass === "used") return fail("captcha_missing", { captcha: "pass_used" });
      if (pass === "lost") {
        noteLostCaptcha(services.config.store);
        return fail("captcha_missing", { captcha: "lost" });
      }
      if (pass === "expired") return fail("captcha_expired");
    } else {
      const checked = await checkCaptcha(session, services.captchas, captcha, { keys: captchaKeys(services.config.secrets) });
      // An answer to a replaced captcha is still a wrong one (the contract's code); its field says why.
      if (checked === "captcha_replaced") return fail("captcha_invalid", { captcha: "replaced" });
      // Still the contract's captcha_missing; its field says the server lost it (which the signals
      // count apart, lib/signals/outcome.ts), and the log why.
      if (checked === "captcha_lost") {
        noteLostCaptcha(services.config.store);
        return fail("captcha_missing", { captcha: "lost" });
      }
      if (checked !== "ok") return fail(checked);
      solved = true;
    }

    const created = await createUser(services.db, input.value, services.config.passwordHashCost, { hash: (password) => ticket.hash(password, services.config.passwordHashCost) });
    if (!created.ok) {
      if (solved) await grantPass(session, services.captchas, services.config.passTtlMs);
      // Each taken field under the code of its own 409: both, when both are.
      return fail(created.code, Object.fromEntries(created.taken.map((field) => [field, `${field}_taken` as const])));
    }

    // The account stands from here: should the login below not reach the store, the answer says
    // so, rather than a bare 503 that a retry would meet as a taken name.
    ctx.ifCommitFails(() =>
      errorResponse("session_store_unavailable", {
        fields: { account: "created" },
        message: "The account was created, but the session store could not be reached to log it in. Log in once it answers again.",
      }),
    );
    await session.unset(draftKey("signup"));
    await session.logIn(created.user.id);
    await session.set(USER_KEY, created.user);
    const response = form ? seeOther("/welcome") : Response.json({ user: created.user }, { status: 201 });
    // The browser that created the account is one of its devices: its logins never count against
    // the limit a stranger's wrong passwords can fill (lib/api/device.ts).
    response.headers.append("set-cookie", deviceCookie(created.user.id, created.passwordHash, services.config, services.sessions.secure(req)));
    return response;
  } finally {
    ticket.release();
  }
}

const lostSaidAt = new Map<string, number>();

/** Said at most every ten minutes per process and store: what makes a ledger lose a captcha that nothing used. */
function noteLostCaptcha(store: string): void {
  const now = Date.now();
  if (now - (lostSaidAt.get(store) ?? -Infinity) < 600_000) return;
  lostSaidAt.set(store, now);
  const causes =
    store === "redis"
      ? "Redis evicted it under memory pressure (a maxmemory-policy other than noeviction; npm run doctor reads it), or this instance uses another REDIS_URL or REDIS_KEY_PREFIX than the instance that drew it."
      : store === "memory"
        ? "This process's memory does not hold it: another process drew it (SESSION_STORE=memory keeps captchas in one process; use a shared store)."
        : "This instance uses another DATABASE_URL than the instance that drew it, or the captchas table was cleared.";
  log.warn(`a sign-up's captcha was gone from the ledger (or the pass a right answer left after a taken name was) though nothing had used it and it had not expired, so the person was told the server lost it and shown a new one (captcha_missing, fields.captcha "lost"). ${causes}`);
}
