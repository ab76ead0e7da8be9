"use client";

import { useCallback, useEffect, useLayoutEffect, useRef, useState, useSyncExternalStore } from "react";
import { fieldId } from "./field";

export const CAPTCHA_ALT =
  "Captcha image: type the characters you see. Use the New captcha button for a different one, or the Can't read it button to sign up without the image.";
const CAPTCHA_EXPIRED_ALT = "Captcha image, expired: use the New captcha button, or go to the captcha field, for a new one.";
/** Without JavaScript there is no "Can't read it" button to name. */
const CAPTCHA_ALT_NO_JS = "Captcha image: type the characters you see. Use the New captcha button for a different one.";

/**
 * Why an image did not load, as far as the page can tell: the server cannot be reached at all,
 * the service behind it is away, or something else (a limit, a busy server).
 */
type Failure = "unreachable" | "unavailable" | "other";

/** Asks the health endpoint, which issues nothing: a 503 there means the store or the database is away. */
async function whyNoImage(): Promise<Failure> {
  try {
    const response = await fetch("/api/health", { cache: "no-store", signal: AbortSignal.timeout(10_000) });
    return response.status === 503 ? "unavailable" : "other";
  } catch (error) {
    // No connection at all: the network, or the server itself. One that only answers slowly is busy.
    return error instanceof DOMException && error.name === "TimeoutError" ? "other" : "unreachable";
  }
}

const noSubscribe = () => () => {};

/** The nonce an image was asked for with, from the address it loaded (`r=`). */
function nonceOf(img: HTMLImageElement): string | null {
  try {
    return new URL(img.currentSrc || img.src).searchParams.get("r");
  } catch {
    return null;
  }
}

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
  /** How long an image counts from its drawing: past it, the next look at the page draws a new one. */
  lifetimeMs: number;
  /** The form field the answer is typed into: focusing it on an expired image draws a new one. */
  fieldName: string;
};

/**
 * Before the server's own end of a captcha: what it sent took a moment to arrive, and an answer
 * typed then takes a moment to reach it.
 */
const EXPIRY_MARGIN_MS = 10_000;

/** How long an image on its way holds back a newer one asked for meanwhile. */
const STALLED_MS = 10_000;

/** The longest delay setTimeout takes; a longer one fires at once. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export function Captcha({ nonce, onRefresh, noJsAction, lifetimeMs, fieldName }: CaptchaProps) {
  const hydrated = useHydrated();
  const [failedNonce, setFailedNonce] = useState<string | null>(null);
  const [failure, setFailure] = useState<Failure>("other");
  const [loadedNonce, setLoadedNonce] = useState<string | null>(null);
  const image = useRef<HTMLImageElement>(null);
  // When each image arrived, and so when it stops counting.
  const loadedAt = useRef<{ nonce: string; at: number } | null>(null);
  const loaded = useCallback((which: string) => {
    loadedAt.current = { nonce: which, at: Date.now() };
    setLoadedNonce(which);
  }, []);

  const failed = useCallback(
    (which: string) => {
      setFailure("other");
      setFailedNonce(which);
      // The note names the likelier cause once the health endpoint has said.
      void whyNoImage().then(setFailure);
    },
    [],
  );
  // The image asked for: one request at a time. A new captcha asked for while one is on its way
  // (a double click on New captcha, a click as the page renews an expired one) waits until that
  // one has arrived. Two at once would race on the server to be the session's captcha: the one
  // written last may not be the one drawn last, shown here, whose right answer would then be
  // refused as wrong. One that takes too long no longer holds the next back.
  const [requested, setRequested] = useState(nonce);
  const [stalledNonce, setStalledNonce] = useState<string | null>(null);
  const settled = loadedNonce === requested || failedNonce === requested || stalledNonce === requested;
  if (requested !== nonce && settled) setRequested(nonce);
  useEffect(() => {
    const timer = setTimeout(() => setStalledNonce(requested), STALLED_MS);
    return () => clearTimeout(timer);
  }, [requested]);
  useLayoutEffect(() => {
    // An image that loaded or failed before React took over the page fired with no one listening.
    const img = image.current;
    if (img?.complete) {
      if (img.naturalWidth === 0) failed(requested);
      else loaded(requested);
    }
  }, [requested, failed, loaded]);
  // Until the new image arrives the browser keeps showing the old one, which no longer counts:
  // typed from a slow connection's screen, it would read as a wrong or a replaced answer.
  const loading = hydrated && loadedNonce !== nonce && failedNonce !== nonce;

  const [expiredNonce, setExpiredNonce] = useState<string | null>(null);
  // An image that expired while the person was at its field was replaced at once: which one, and
  // so the image that replaced it, whose note says so.
  const [renewedFrom, setRenewedFrom] = useState<string | null>(null);
  const [previousNonce, setPreviousNonce] = useState(nonce);
  const [renewedNonce, setRenewedNonce] = useState<string | null>(null);
  if (previousNonce !== nonce) {
    setPreviousNonce(nonce);
    setRenewedNonce(renewedFrom === previousNonce ? nonce : null);
  }
  useEffect(() => {
    if (loadedNonce !== nonce) return;
    // From when the image arrived, which is at most a moment after the server drew it.
    const drawnAt = loadedAt.current?.nonce === nonce ? loadedAt.current.at : Date.now();
    const endsAt = drawnAt + Math.max(lifetimeMs - EXPIRY_MARGIN_MS, lifetimeMs / 2);
    const over = () => Date.now() >= endsAt;
    // A person who comes back to the page (its tab, its window, the answer's field) after the
    // image stopped counting gets a new one at once, rather than typing an answer that is refused
    // as expired. A page no one looks at draws nothing: it only says the image has expired.
    const renew = () => {
      if (over() && document.visibilityState === "visible") onRefresh();
    };
    const onFocusIn = (event: FocusEvent) => {
      if (event.target instanceof HTMLElement && event.target.id === fieldId(fieldName)) renew();
    };
    // At the end, a person at the field (in it, or with an answer typed) gets a new image at once:
    // the answer they are typing would be refused. Otherwise the page only says it has expired.
    // A lifetime past setTimeout's reach (about 24.8 days) has no timer: such a page is long gone.
    const end = () => {
      const input = document.getElementById(fieldId(fieldName));
      const atField = input instanceof HTMLInputElement && (input === document.activeElement || input.value !== "");
      if (atField && document.visibilityState === "visible") {
        // The image changes (and a typed answer goes) under the person's eyes: the next one says why.
        setRenewedFrom(nonce);
        onRefresh();
      } else setExpiredNonce(nonce);
    };
    const wait = endsAt - Date.now();
    const timer = wait <= MAX_TIMEOUT_MS ? setTimeout(end, Math.max(0, wait)) : undefined;
    document.addEventListener("visibilitychange", renew);
    window.addEventListener("focus", renew);
    document.addEventListener("focusin", onFocusIn);
    return () => {
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", renew);
      window.removeEventListener("focus", renew);
      document.removeEventListener("focusin", onFocusIn);
    };
  }, [loadedNonce, nonce, lifetimeMs, fieldName, onRefresh]);
  const expired = expiredNonce === nonce && !loading;

  // An image that failed for want of a connection comes by itself once the browser is back
  // online: the person need not find New captcha.
  const failedOffline = failedNonce === nonce && failure === "unreachable";
  useEffect(() => {
    if (!failedOffline) return;
    window.addEventListener("online", onRefresh);
    return () => window.removeEventListener("online", onRefresh);
  }, [failedOffline, onRefresh]);

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
          {failedNonce === nonce ? (
            // No broken-image icon in a box of another size: the same frame, empty; the note below says why.
            <span className="captcha__image captcha__image--failed" data-testid="captcha-no-image" />
          ) : (
            // A plain img: the SVG is uncacheable and per-session, so next/image would only get in the way.
            // eslint-disable-next-line @next/next/no-img-element -- see above: nothing here to optimise or cache
            <img
              // Hidden while the next one loads, and once it no longer counts: the note over it says which.
              className={loading || expired ? "captcha__image captcha__image--loading" : "captcha__image"}
              src={`/api/captcha?r=${encodeURIComponent(requested)}`}
              width={240}
              height={80}
              alt={expired ? CAPTCHA_EXPIRED_ALT : hydrated ? CAPTCHA_ALT : CAPTCHA_ALT_NO_JS}
              ref={image}
              // Credited to the image that fired, by its own address: one that arrived as the
              // address changed is not taken for the next.
              onLoad={(event) => loaded(nonceOf(event.currentTarget) ?? requested)}
              onError={(event) => failed(nonceOf(event.currentTarget) ?? requested)}
            />
          )}
          {loading ? (
            <span className="captcha__loading" data-testid="captcha-loading">
              Loading a new image…
            </span>
          ) : expired ? (
            <span className="captcha__loading" data-testid="captcha-expired">
              This image has expired
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
        {expired ? (
          <p className="captcha__note" data-testid="captcha-expired-note">
            This image has expired: each one counts for a limited time. Use New captcha, or click in the captcha field, for a
            new one.
          </p>
        ) : renewedNonce === nonce && failedNonce !== nonce ? (
          <p className="captcha__note" data-testid="captcha-renewed">
            The image you were answering expired, so this is a new one: type its characters.
          </p>
        ) : failedNonce === nonce ? (
          failure === "unreachable" ? (
            <p className="captcha__failed" data-testid="captcha-failed" data-cause="unreachable">
              The captcha image did not load: we could not reach our server. Check your connection, then use New captcha.
            </p>
          ) : failure === "unavailable" ? (
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
