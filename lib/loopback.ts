/**
 * Hosts a browser treats as a secure context over plain http, where it keeps a Secure cookie:
 * localhost, 127.0.0.0/8 and [::1]. The server's warning about a Secure cookie sent over http
 * (lib/services.ts) and the doctor's secure-cookie check (lib/doctor/diagnose.ts) both ask here,
 * so the two never disagree about where such a cookie is dropped.
 */
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?$/i;

/** Whether a URL's host (`url.host`, with or without its port) is loopback. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}
