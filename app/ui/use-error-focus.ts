"use client";

import { useEffect, useRef } from "react";
import { fieldInput } from "./field";

/**
 * Moves focus to the field that needs attention after a failed submit.
 * Call the returned function in the same update that renders the error: the
 * focus happens after that render, so the field's description already holds
 * the new message when a screen reader reads it.
 */
export function useErrorFocus(): (name: string | null) => void {
  const target = useRef<string | null>(null);

  // No dependency list on purpose: a request is consumed by the next commit, whatever caused it.
  useEffect(() => {
    const name = target.current;
    if (!name) return;
    target.current = null;
    fieldInput(name)?.focus();
  });

  return (name) => {
    target.current = name;
  };
}
