import { errorText } from "./messages";

type FormErrorProps = {
  code: string | null;
  /** Seconds to wait, when the refusal said (Retry-After). */
  retryAfter?: number;
  /** Read to screen readers only: the per-field problems, which sighted people see inline. */
  details?: string[];
  /** The code's message sits under its field, so here it is only announced, not shown twice. */
  shownInline?: boolean;
  /** An id for the message's text, for fields it is about to name it (`aria-describedby`). */
  textId?: string;
};

/**
 * The live region is always rendered: assistive tech only announces changes
 * inside a region that already existed, not a region that appears with its text.
 */
export function FormError({ code, retryAfter, details = [], shownInline = false, textId }: FormErrorProps) {
  return (
    <div className="form-error-region" aria-live="polite" aria-atomic="true">
      {/* Announced: what the fields say, when they say it (a replaced captcha is no typing mistake). */}
      {code && shownInline ? <p className="visually-hidden">{details.length > 0 ? details.join(" ") : errorText(code, retryAfter)}</p> : null}
      {code && !shownInline ? (
        <div className="form-error" data-testid="form-error" data-code={code}>
          <svg className="form-error__icon" viewBox="0 0 20 20" aria-hidden="true" focusable="false">
            <path
              fill="currentColor"
              d="M10 1.5a8.5 8.5 0 1 1 0 17 8.5 8.5 0 0 1 0-17Zm0 11.75a1.1 1.1 0 1 0 0 2.2 1.1 1.1 0 0 0 0-2.2ZM10 5a1 1 0 0 0-1 1.05l.3 5.2a.7.7 0 0 0 1.4 0l.3-5.2A1 1 0 0 0 10 5Z"
            />
          </svg>
          <p className="form-error__text" id={textId}>
            {errorText(code, retryAfter)}
            {details.length > 0 ? <span className="visually-hidden"> {details.join(" ")}</span> : null}
          </p>
        </div>
      ) : null}
    </div>
  );
}
