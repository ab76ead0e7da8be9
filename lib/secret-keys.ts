import { createHmac } from "node:crypto";

const derived = new Map<string, string>();

/**
 * One key per secret of SESSION_SECRET's list for one purpose (`label`), derived by HMAC so that
 * no two purposes share a key and none is the secret itself; the first signs, every one checks,
 * so a rotation keeps what was signed before it. Derived once per secret and label.
 */
export function derivedKeys(secrets: readonly string[], label: string): string[] {
  return secrets.map((secret) => {
    const id = `${label}\0${secret}`;
    let key = derived.get(id);
    if (key === undefined) {
      key = createHmac("sha256", secret).update(label).digest("hex");
      derived.set(id, key);
    }
    return key;
  });
}
