import { dictionary } from "@zxcvbn-ts/language-common";

/**
 * Passwords attackers try first, which a new password may not be (NIST SP 800-63B, 5.1.1.2: a
 * blocklist of commonly used and compromised values). The list is zxcvbn-ts's common-passwords
 * dictionary (about 49,000, from leaked password sets, lower case), kept to the entries long
 * enough to pass the length rule; it is built at the first check.
 */
let common: Set<string> | undefined;

/** Whether a new password (of at least eight characters) is too common to take. */
export function isCommonPassword(password: string): boolean {
  const folded = password.normalize("NFKC").toLowerCase();
  // One character over and over ("aaaaaaaa", eight spaces): no list holds every one.
  if (/^(.)\1*$/su.test(folded)) return true;
  common ??= new Set(dictionary["passwords-common"].filter((entry) => [...entry].length >= 8));
  return common.has(folded);
}
