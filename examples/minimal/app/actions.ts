"use server";

import { getSession, withSession } from "../lib/session";

const MAX_NAME_LENGTH = 60;

/** Writes the name into the session: `getSession()` to change it, `save()` to store it and set the cookie. */
export async function saveName(form: FormData): Promise<void> {
  const name = String(form.get("name") ?? "").trim().slice(0, MAX_NAME_LENGTH);
  const session = await getSession();
  if (name) await session.set("name", name);
  else await session.unset("name");
  await session.save();
}

/** Ends the session: `withSession()` commits around the callback, so the cookie is cleared. */
export async function forget(): Promise<void> {
  await withSession((session) => session.destroy());
}
