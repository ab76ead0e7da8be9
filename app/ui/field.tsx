import type { ComponentProps, ReactNode } from "react";

/** The id of a field's input: forms reach their inputs through it rather than through refs. */
export const fieldId = (name: string) => `field-${name}`;

/** A field's input in the document, in the browser only (event handlers and effects). */
export function fieldInput(name: string): HTMLInputElement | null {
  const element = document.getElementById(fieldId(name));
  return element instanceof HTMLInputElement ? element : null;
}

type FieldProps = Omit<ComponentProps<"input">, "id" | "name" | "ref"> & {
  name: string;
  label: string;
  hint?: ReactNode;
  /** The API's code for this field (`too_short`, `username_taken`, ...) and its human text (a link in it, at most). */
  error?: { code: string; text: ReactNode } | null;
  /** Shown between the hint and the input, e.g. the captcha image the input refers to. */
  beforeInput?: ReactNode;
  /**
   * The id of a message elsewhere (the form's banner) that says this field's value was refused,
   * when no error of its own is shown under it: the input is then marked invalid and names it.
   */
  refusedBy?: string;
};

export function Field({ name, label, hint, error, beforeInput, refusedBy, className, ...input }: FieldProps) {
  const id = fieldId(name);
  const hintId = hint ? `${id}-hint` : null;
  const errorId = error ? `${id}-error` : (refusedBy ?? null);
  // Error first so screen readers hear what went wrong before the standing hint.
  const describers = [errorId, hintId].filter(Boolean).join(" ");
  const isInvalid = Boolean(error) || Boolean(refusedBy);

  return (
    <div className={`field${isInvalid ? " field--invalid" : ""}`}>
      <label className="field__label" htmlFor={id}>
        {label}
      </label>
      {hint ? (
        <p className="field__hint" id={hintId ?? undefined}>
          {hint}
        </p>
      ) : null}
      {beforeInput}
      <input
        {...input}
        id={id}
        name={name}
        className={`field__input${className ? ` ${className}` : ""}`}
        aria-invalid={isInvalid || undefined}
        aria-describedby={describers || undefined}
      />
      {error ? (
        <p className="field__error" id={errorId ?? undefined} data-testid={`error-${name}`} data-code={error.code}>
          {error.text}
        </p>
      ) : null}
    </div>
  );
}
