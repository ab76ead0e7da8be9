import { domainToASCII, domainToUnicode } from "node:url";
import { z } from "zod";
import { isCommonPassword } from "./common-passwords";

/** Field error codes of the contract. */
/**
 * `replaced`: a captcha answer that was right for an earlier image of the session, which a newer
 * one replaced. `lost`: the captcha the session waited on is gone from the server's ledger though
 * nothing used it and it had not expired, so the answer was never checked (or the pass a 409
 * left, so the attempt was not). `pass_used`: the pass a 409 left was used by another attempt of
 * the session first. `unchanged`: a new password the same as the one typed as current.
 * `created`: `fields.account` of a registration's 503 whose account was created, though its
 * login could not be stored.
 */
export type FieldCode =
  | "too_short"
  | "too_long"
  | "invalid_format"
  | "required"
  | "replaced"
  | "lost"
  | "pass_used"
  | "unchanged"
  | "username_taken"
  | "email_taken"
  | "created"
  | "too_common";
export type FieldErrors = Record<string, FieldCode>;

export const USERNAME_PATTERN = /^[A-Za-z0-9_.-]+$/;

/** RFC 5321's limit on the part of an address before the @. */
const MAX_LOCAL_PART = 64;

/**
 * An email with its domain in ASCII (IDNA, `xn--…`), lower-cased: one address whichever form it
 * was typed in. A browser's email field sends an accented domain in that form, a login field as
 * typed, and both must find the same account. A domain IDNA refuses is left as it was, for the
 * address check to refuse.
 */
export function emailForm(email: string): string {
  return asciiDomain(email).toLowerCase();
}

/** An email kept in emailForm, as a person typed it: an `xn--` domain in its letters. */
export function emailForDisplay(email: string): string {
  return withDomain(email, (domain) => (/(^|\.)xn--/.test(domain) ? domainToUnicode(domain) : ""));
}

/** The email with its domain mapped; one the map leaves empty (or no @ at all) stays as it was. */
function withDomain(email: string, map: (domain: string) => string): string {
  const at = email.lastIndexOf("@");
  const mapped = at < 0 ? "" : map(email.slice(at + 1));
  return mapped ? `${email.slice(0, at)}@${mapped}` : email;
}

/**
 * The email with its domain in ASCII (IDNA), nothing else changed. Only a domain of letters,
 * digits, hyphens and dots is converted: the URL parser behind `domainToASCII` would also decode
 * `%41` and drop soft hyphens, which an address check must see and refuse. IDNA's own mapping
 * applies, as in a browser's email field: fullwidth letters and the Kelvin sign fold to ASCII.
 */
export function asciiDomain(email: string): string {
  return withDomain(email, (domain) => (/^[\x00-\x7f]*$/.test(domain) || !/^[\p{L}\p{M}\p{N}.-]+$/u.test(domain) ? "" : domainToASCII(domain)));
}

// Control characters (C0 with NUL above all, which Postgres refuses in text, DEL and C1) are
// never part of a valid field.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Half of a character with nothing to pair with (JSON can spell one: "\ud800"): no text. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether a string is not text a field can hold: a control character, or a lone surrogate. */
export const hasControl = (value: string): boolean => CONTROL.test(value) || LONE_SURROGATE.test(value);
const text = (min: number, max: number) =>
  z
    .string()
    .min(min)
    .max(max)
    .refine((v) => !hasControl(v));

/**
 * A password's length in characters as it is hashed: Unicode code points after NFKC (NIST SP
 * 800-63B counts each code point as one), so "é" typed as e + a combining accent is one, an emoji
 * is one, and a ligature "ﬁ" is the two letters it stands for. Every password field counts the
 * same way, so a password accepted at sign-up is never too long to log in with. `existing`: a
 * password being checked (a login, the current one of a change) is also taken at up to `max`
 * UTF-16 units as typed, the count before this one, so no password set then is refused now.
 */
const password = (min: number, max: number, existing = false) =>
  z
    .string()
    .refine((v) => !hasControl(v))
    .superRefine((v, ctx) => {
      const length = [...v.normalize("NFKC")].length;
      if (length < min) ctx.addIssue({ code: "too_small", origin: "string", minimum: min, inclusive: true, input: v });
      else if (length > max && !(existing && v.length <= max)) ctx.addIssue({ code: "too_big", origin: "string", maximum: max, inclusive: true, input: v });
      // A new password only: one set before still logs in, and is upgraded like any other.
      else if (!existing && isCommonPassword(v)) ctx.addIssue({ code: "custom", params: { field: "too_common" }, input: v });
    });

export const registerInput = z.object({
  // Spaces around it are dropped, as they are around an email and a login's name: a name copied
  // with a trailing space is no other name.
  username: z
    .string()
    .refine((v) => !hasControl(v))
    .trim()
    .pipe(text(3, 32).regex(USERNAME_PATTERN)),
  email: z
    .string()
    .max(254)
    .refine((v) => !hasControl(v))
    .trim()
    .transform(emailForm)
    .pipe(z.string().max(254).pipe(z.email()))
    .refine((e) => e.lastIndexOf("@") <= MAX_LOCAL_PART),
  password: password(8, 128),
  // Optional here: a session holding a pass, or a proof at the accessible level, stands in for it
  // (the register endpoint says `required` when neither does). A form's empty field is absent.
  // One of spaces only is no answer (answers are compared without their spaces): `required`, and spends nothing.
  captcha: z.preprocess((v) => (typeof v === "string" && /^\s*$/u.test(v) ? undefined : v), text(1, 32).optional()),
  /** The proof of work: ALTCHA's base64 payload. */
  altcha: z
    .string()
    .min(1)
    .max(4096)
    .refine((v) => !hasControl(v)),
});
export type RegisterInput = z.infer<typeof registerInput>;

export const loginInput = z.object({
  login: z
    .string()
    .refine((v) => !hasControl(v))
    .trim()
    .pipe(text(1, 254)),
  password: password(1, 128, true),
});
export type LoginInput = z.infer<typeof loginInput>;

export const logoutInput = z.object({
  everywhere: z
    .union([z.boolean(), z.enum(["1", "0", "true", "false", "on"])])
    .optional()
    .transform((v) => v === true || v === "1" || v === "true" || v === "on"),
});

/** The fields whose surrounding spaces are dropped: one of spaces only was left empty. */
const TRIMMED = new Set(["username", "email", "login"]);

function fieldCode(issue: z.core.$ZodIssue, name: string, value: unknown): FieldCode {
  if (value === undefined || value === null || value === "") return "required";
  // A control character (or bytes that were no text, lib/http/request.ts) is what is wrong, whatever the length.
  if (typeof value === "string" && hasControl(value)) return "invalid_format";
  // Spaces only: nothing typed.
  if (TRIMMED.has(name) && typeof value === "string" && value.trim() === "") return "required";
  if (issue.code === "too_small") return "too_short";
  if (issue.code === "too_big") return "too_long";
  if (issue.code === "custom" && issue.params?.field === "too_common") return "too_common";
  return "invalid_format";
}

/** Parses a body against a schema; failures become one code per field. */
export function validate<T extends z.ZodType>(
  schema: T,
  body: Record<string, unknown>,
): { ok: true; value: z.infer<T> } | { ok: false; fields: FieldErrors } {
  const result = schema.safeParse(body);
  if (result.success) return { ok: true, value: result.data };
  const fields: FieldErrors = {};
  for (const issue of result.error.issues) {
    const name = String(issue.path[0] ?? "body");
    fields[name] ??= fieldCode(issue, name, body[name]);
  }
  return { ok: false, fields };
}

export const passwordChangeInput = z.object({
  currentPassword: password(1, 128, true),
  newPassword: password(8, 128),
});
