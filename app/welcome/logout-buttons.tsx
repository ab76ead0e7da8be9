"use client";

import { useRef, useState, type FormEvent } from "react";
import { loggedOutHere, postJson } from "@/app/ui/api";
import { FormError } from "@/app/ui/form-error";

/**
 * Real forms so logging out works without JavaScript; with it, the request goes through fetch
 * and failures are shown here instead of as JSON. "Log out everywhere" is offered only where
 * the session store can end other sessions: a sealed cookie copied to another device stays
 * valid until it expires, whatever this page says.
 */
export function LogoutButtons({ canEndOtherSessions, initialError = null }: { canEndOtherSessions: boolean; initialError?: string | null }) {
  // A plain form post that failed lands back here with its code in the URL (`?error=`).
  const [errorCode, setErrorCode] = useState<string | null>(initialError);
  const [pending, setPending] = useState(false);
  const inFlight = useRef(false);

  const logOut = (everywhere: boolean) => async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (inFlight.current) return;
    inFlight.current = true;
    setPending(true);
    setErrorCode(null);
    // Ending the other sessions needs this one to say whose they are: one that already ended (in
    // another tab, or by timing out) cannot, and the logout's 204 would not tell.
    if (everywhere && (await loggedOutHere())) {
      // eslint-disable-next-line @next/next/no-location-assign-relative-destination -- the full load is the point
      window.location.assign("/login?error=session_ended");
      return;
    }
    // Same field and value as the no-JS form, so the server reads one shape.
    const result = await postJson("/api/logout", everywhere ? { everywhere: "1" } : {});
    if (result.ok) {
      // A full load, so no page keeps showing the account that just logged out.
      // eslint-disable-next-line @next/next/no-location-assign-relative-destination -- the full load is the point
      window.location.assign(`/login?out=${everywhere ? "everywhere" : "here"}`);
      return;
    }
    inFlight.current = false;
    setPending(false);
    setErrorCode(result.code);
  };

  return (
    <div className="logout" aria-busy={pending}>
      <FormError code={errorCode} />
      <div className="logout__actions">
        <form method="post" action="/api/logout" onSubmit={logOut(false)}>
          <button type="submit" className="button button--primary button--block" aria-disabled={pending || undefined}>
            Log out
          </button>
        </form>
        {canEndOtherSessions ? (
          <form method="post" action="/api/logout" onSubmit={logOut(true)}>
            <input type="hidden" name="everywhere" value="1" />
            <button
              type="submit"
              className="button button--secondary button--block"
              aria-disabled={pending || undefined}
              aria-describedby="logout-everywhere-hint"
            >
              Log out everywhere
            </button>
          </form>
        ) : null}
      </div>
      {canEndOtherSessions ? (
        <p className="logout__hint" id="logout-everywhere-hint">
          Log out everywhere also ends your sessions on every other browser and device.
        </p>
      ) : (
        <p className="logout__hint" data-testid="logout-scope">
          Logging out removes your login from this browser. Your sessions on other browsers and devices, and any copy of this one, last until they expire.
        </p>
      )}
    </div>
  );
}
