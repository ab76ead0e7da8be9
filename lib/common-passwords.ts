/**
 * Passwords attackers try first, which a new password may not be (NIST SP 800-63B, 5.1.1.2: a
 * blocklist of commonly used and compromised values). The list is zxcvbn-ts's common-passwords
 * dictionary (about 49,000, from leaked password sets, lower case), kept to the entries long
 * enough to pass the length rule. Loaded by the routes that take a new password, at their first
 * use: the others (and a serverless function's cold start) never pay for it.
 */
let common: Set<string> | undefined;
let loading: Promise<void> | undefined;

/** Loads the list once per process; the routes that validate a new password await it first. */
export function loadCommonPasswords(): Promise<void> {
  loading ??= import("@zxcvbn-ts/language-common").then(({ dictionary }) => {
    common = new Set(dictionary["passwords-common"].filter((entry) => [...entry].length >= 8));
  });
  return loading;
}

/** Whether a new password (of at least eight characters) is too common to take. */
export function isCommonPassword(password: string): boolean {
  if (!common) throw new Error("isCommonPassword: await loadCommonPasswords() first");
  const folded = password.normalize("NFKC").toLowerCase();
  // One character over and over ("aaaaaaaa", eight spaces): no list holds every one.
  return /^(.)\1*$/su.test(folded) || common.has(folded);
}
