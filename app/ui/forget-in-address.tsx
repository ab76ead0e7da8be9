"use client";

import { useEffect } from "react";

/**
 * Drops one-time notes from the page's address once the page has shown them (`out` after a
 * logout, `password=changed`): a reload, a bookmark or the history would otherwise bring the
 * note back when it no longer holds.
 */
export function ForgetInAddress({ names }: { names: readonly string[] }) {
  const key = names.join(",");
  useEffect(() => {
    const url = new URL(window.location.href);
    const present = key.split(",").filter((name) => url.searchParams.has(name));
    if (present.length === 0) return;
    for (const name of present) url.searchParams.delete(name);
    window.history.replaceState(window.history.state, "", url);
  }, [key]);
  return null;
}
