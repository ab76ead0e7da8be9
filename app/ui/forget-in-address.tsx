"use client";

import { useEffect } from "react";

/**
 * Drops one-time notes from the page's address once the page has shown them (`out` after a
 * logout, `password=changed`): a reload, a bookmark or the history would otherwise bring the
 * note back when it no longer holds.
 */
export function ForgetInAddress({ names }: { names: readonly string[] }) {
  const key = names.join(",");
  useEffect(() => forgetInAddress(key.split(",")), [key]);
  return null;
}

/** Drops the named parameters from the page's address, in place (no navigation, no history entry). */
export function forgetInAddress(names: readonly string[]): void {
  const url = new URL(window.location.href);
  if (!names.some((name) => url.searchParams.has(name))) return;
  for (const name of names) url.searchParams.delete(name);
  window.history.replaceState(window.history.state, "", url);
}
