import { cache } from "react";
import { currentUser, UNAVAILABLE } from "../../lib/next/session";

/**
 * Who is logged in on this request, for the login and sign-up pages (their title and their
 * body, read once per request); null when no one is, or it cannot be read now.
 */
export const loggedInUser = cache(async (): Promise<{ username: string } | null> => {
  const user = await currentUser();
  // Who is logged in cannot be read right now: the form below says so if it is sent.
  return user && user !== UNAVAILABLE ? user : null;
});

/**
 * On the login and sign-up pages: says who is already logged in here, and the way on (where a
 * login would have led). `signup`: the form below would switch this browser to the new account.
 */
export function LoggedInNote({ user, next = "/welcome", signup = false }: { user: { username: string } | null; next?: string; signup?: boolean }) {
  if (!user) return null;
  return (
    <p className="form-note" role="status" data-testid="logged-in-note">
      You are already logged in as {user.username}. <a href={next}>{next === "/password" ? "Change your password" : "Go to your account"}</a>
      {signup ? ", or create another account below: this browser then switches to it." : ", or log out there first to use another account."}
    </p>
  );
}
