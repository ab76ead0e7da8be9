"use client";

import { useEffect, useRef, type RefObject } from "react";

type InputRefs = Partial<Record<string, RefObject<HTMLInputElement | null>>>;

/**
 * Moves focus to the field that needs attention after a failed submit.
 * Call the returned function in the same update that renders the error: the
 * focus happens after that render, so the field's description already holds
 * the new message when a screen reader reads it.
 */
export function useErrorFocus(refs: InputRefs): (name: string | null) => void {
  const target = useRef<string | null>(null);

  // No dependency list on purpose: a request is consumed by the next commit, whatever caused it.
  useEffect(() => {
    const name = target.current;
    if (!name) return;
    target.current = null;
    refs[name]?.current?.focus();
  });

  return (name) => {
    target.current = name;
  };
}
