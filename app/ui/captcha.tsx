"use client";

import { useCallback, useEffect, useLayoutEffect, useRef, useState, useSyncExternalStore } from "react";

export const CAPTCHA_ALT =
  "Captcha image: type the characters you see. Use the New captcha button for a different one, or the Can't read it button to sign up without the image.";
/** Without JavaScript there is no "Can't read it" button to name. */
const CAPTCHA_ALT_NO_JS = "Captcha image: type the characters you see. Use the New captcha button for a different one.";

/** Why an image did not load, as far as the page can tell: the service is away, or something else (a limit, a busy server, the connection). */
type Failure = "unavailable" | "other";

/** Asks the health endpoint, which issues nothing: a 503 there means the store or the database is away. */
async function whyNoImage(): Promise<Failure> {
  try {
    const response = await fetch("/api/health", { cache: "no-store" });
    return response.status === 503 ? "unavailable" : "other";
  } catch {
    return "other";
  }
}

const noSubscribe = () => () => {};

/** False on the server and during hydration, true once React owns the page. */
export function useHydrated(): boolean {
  return useSyncExternalStore(
    noSubscribe,
    () => true,
    () => false,
  );
}

type CaptchaProps = {
  /** Changing it changes the image URL, which makes the server issue a new captcha. */
  nonce: string;
  onRefresh: () => void;
  /**
   * Without JavaScript "New captcha" submits the surrounding form here, which keeps what was
   * typed (in the session, not the URL) and reloads the page, and so the image.
   */
  noJsAction: string;
};

export function Captcha({ nonce, onRefresh, noJsAction }: CaptchaProps) {
  const hydrated = useHydrated();
  const [failedNonce, setFailedNonce] = useState<string | null>(null);
  const [failure, setFailure] = useState<Failure>("other");
  const [loadedNonce, setLoadedNonce] = useState<string | null>(null);
  const image = useRef<HTMLImageElement>(null);

  const failed = useCallback(
    (which: string) => {
      setFailure("other");
      setFailedNonce(which);
      // The note names the likelier cause once the health endpoint has said.
      void whyNoImage().then(setFailure);
    },
    [],
  );
  useLayoutEffect(() => {
    // An image that loaded or failed before React took over the page fired with no one listening.
    const img = image.current;
    if (img?.complete) {
      if (img.naturalWidth === 0) failed(nonce);
      else setLoadedNonce(nonce);
    }
  }, [nonce, failed]);
  // Until the new image arrives the browser keeps showing the old one, which no longer counts:
  // typed from a slow connection's screen, it would read as a wrong or a replaced answer.
  const loading = hydrated && loadedNonce !== nonce && failedNonce !== nonce;

  useEffect(() => {
    // A page restored from the back/forward cache still shows a captcha the server has since consumed.
    const onPageShow = (event: PageTransitionEvent) => {
      if (event.persisted) onRefresh();
    };
    window.addEventListener("pageshow", onPageShow);
    return () => window.removeEventListener("pageshow", onPageShow);
  }, [onRefresh]);

  return (
    <div className="captcha">
      <div className="captcha__row">
        <span className="captcha__frame">
          {/* A plain img: the SVG is uncacheable and per-session, so next/image would only get in the way. */}
          {/* eslint-disable-next-line @next/next/no-img-element -- see above: nothing here to optimise or cache */}
          <img
            className={loading ? "captcha__image captcha__image--loading" : "captcha__image"}
            src={`/api/captcha?r=${encodeURIComponent(nonce)}`}
            width={240}
            height={80}
            alt={hydrated ? CAPTCHA_ALT : CAPTCHA_ALT_NO_JS}
            ref={image}
            onLoad={() => setLoadedNonce(nonce)}
            onError={() => failed(nonce)}
          />
          {loading ? (
            <span className="captcha__loading" data-testid="captcha-loading">
              Loading a new image…
            </span>
          ) : null}
        </span>
        {hydrated ? (
          <button type="button" className="button button--secondary" onClick={onRefresh}>
            <RefreshIcon />
            New captcha
          </button>
        ) : (
          <button type="submit" className="button button--secondary" formAction={noJsAction} formMethod="post" formNoValidate>
            <RefreshIcon />
            New captcha
          </button>
        )}
      </div>
      {/* Always there, so a screen reader announces the note when it appears in it. */}
      <div role="status">
        {failedNonce === nonce ? (
          failure === "unavailable" ? (
            <p className="captcha__failed" data-testid="captcha-failed" data-cause="unavailable">
              The captcha image did not load: our sign-in service is unavailable for a moment (nothing you did caused
              this). Wait a moment, then use New captcha.
            </p>
          ) : (
            <p className="captcha__failed" data-testid="captcha-failed" data-cause="other">
              The captcha image did not load: our server refused it (too many new captchas were asked for from your
              network, or it is busy for a moment), or the connection failed. Wait a minute, then use New captcha; or use
              Can&apos;t read it to sign up without the image.
            </p>
          )
        ) : null}
      </div>
    </div>
  );
}

function RefreshIcon() {
  return (
    <svg className="button__icon" viewBox="0 0 20 20" aria-hidden="true" focusable="false">
      <path
        fill="none"
        stroke="currentColor"
        strokeWidth="1.8"
        strokeLinecap="round"
        strokeLinejoin="round"
        d="M16 10a6 6 0 1 1-1.76-4.24M16 3.5v3.2h-3.2"
      />
    </svg>
  );
}
