"use client";

import { useEffect, useRef, useState, type FormEvent } from "react";
import { postJson, type ApiFailure } from "./api";
import { forgetInAddress } from "./forget-in-address";
import { errorText, fieldErrorText, ownerField, type FieldErrors } from "./messages";

export type FormErrorState = { code: string | null; fields: FieldErrors; retryAfter?: number };

/**
 * Submits a form as JSON with fetch and lands on `success` (/welcome) on success; on failure it
 * records the error and lets the form react (clear a password, refresh the captcha, move focus).
 */
export function useJsonForm(
  action: string,
  initialError: FormErrorState,
  onFailure: (failure: ApiFailure) => void,
  /** Adds what the form computes rather than the person types (a proof of work), or fails with a code. */
  prepare?: (values: Record<string, FormDataEntryValue>) => Promise<{ ok: true; values: Record<string, unknown> } | ({ ok: false } & ApiFailure)>,
  options: {
    success?: string;
    /** Run after a success, before leaving: a failure it returns is shown instead (a cookie the browser refused). */
    confirm?: () => Promise<ApiFailure | null>;
  } = {},
) {
  const [error, setError] = useState(initialError);
  const [pending, setPending] = useState(false);
  // State updates are async, so a fast double click needs a synchronous guard.
  const inFlight = useRef(false);

  useEffect(() => {
    // A page restored from the back/forward cache after a success left it busy: it is a new visit.
    const onPageShow = (event: PageTransitionEvent) => {
      if (!event.persisted) return;
      inFlight.current = false;
      setPending(false);
    };
    window.addEventListener("pageshow", onPageShow);
    return () => window.removeEventListener("pageshow", onPageShow);
  }, []);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (inFlight.current) return;
    // FormData rather than React state: text typed before hydration exists only in the DOM.
    const values = Object.fromEntries(new FormData(event.currentTarget));
    inFlight.current = true;
    setPending(true);
    // Emptying the live region first makes a repeated identical error be announced again.
    setError({ code: null, fields: {} });
    // The address may still name an earlier refusal (from a plain post, or a redirect here); once
    // this form answers for itself, a reload must not bring that one back.
    forgetRefusalInAddress();

    const prepared = prepare ? await prepare(values) : { ok: true as const, values };
    if (!prepared.ok) {
      inFlight.current = false;
      setPending(false);
      setError({ code: prepared.code, fields: prepared.fields });
      onFailure(prepared);
      return;
    }
    const result = await postJson(action, prepared.values);
    const refused = result.ok && options.confirm ? await options.confirm() : null;
    if (refused) {
      inFlight.current = false;
      setPending(false);
      setError(refused);
      onFailure(refused);
      return;
    }
    if (result.ok) {
      // A full load, so the welcome page is rendered with the new session cookie and nothing of the form's state survives.
      window.location.assign(options.success ?? "/welcome");
      return;
    }
    inFlight.current = false;
    setPending(false);
    setError({ code: result.code, fields: result.fields, retryAfter: result.retryAfter });
    onFailure(result);
  }

  return { error, pending, onSubmit };
}

/** Which field shows which error, the banner's list of field problems, and the field to fix first. */
export function fieldErrors<F extends string>(names: readonly F[], labels: Record<F, string>, error: FormErrorState) {
  const owner = ownerField(error.code, names);
  const errorFor = (name: F) => {
    const code = error.fields[name];
    if (code) return { code, text: fieldErrorText(name, code) };
    return owner === name && error.code ? { code: error.code, text: errorText(error.code) } : null;
  };
  const details = names.flatMap((name) => {
    const code = error.fields[name];
    return code ? [`${labels[name]}: ${fieldErrorText(name, code)}`] : [];
  });
  return { owner, errorFor, details };
}

export function firstProblem<F extends string>(names: readonly F[], code: string | null, fields: FieldErrors): F | null {
  return names.find((name) => fields[name]) ?? ownerField(code, names) ?? null;
}

/** Drops `error`, `fields` and `retry` from the page's address, keeping everything else (`next`). */
function forgetRefusalInAddress(): void {
  forgetInAddress(["error", "fields", "retry"]);
}
