import { currentUser, UNAVAILABLE } from "../../lib/next/session";

/** On the login and sign-up pages: says who is already logged in here, and the way back. */
export async function LoggedInNote() {
  const user = await currentUser();
  // Who is logged in cannot be read right now: the form below says so if it is sent.
  if (!user || user === UNAVAILABLE) return null;
  return (
    <p className="form-note" role="status" data-testid="logged-in-note">
      You are already logged in as {user.username}. <a href="/welcome">Go to your account</a>, or log out there first to use
      another account.
    </p>
  );
}
