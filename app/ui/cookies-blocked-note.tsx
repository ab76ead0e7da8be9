"use client";

import { useSyncExternalStore } from "react";

const noSubscribe = () => () => {};

/**
 * Said before anything is typed when this browser refuses cookies for the site (it reports so in
 * `navigator.cookieEnabled`): signing up and logging in both need the session cookie, and would
 * otherwise fail only after the form was filled in. Nothing on the server, and nothing without
 * JavaScript, where the form's refusal names the cause.
 */
export function CookiesBlockedNote({ action }: { action: "sign up" | "log in" }) {
  const blocked = useSyncExternalStore(
    noSubscribe,
    () => !navigator.cookieEnabled,
    () => false,
  );
  if (!blocked) return null;
  return (
    <p className="form-notice form-notice--page" role="alert" data-testid="cookies-blocked">
      This browser blocks cookies for this site, and you need one to {action}:{" "}
      {action === "sign up" ? "it holds the captcha you answer, then your login." : "it holds your login."} Allow cookies for
      this site, then reload the page.
    </p>
  );
}
