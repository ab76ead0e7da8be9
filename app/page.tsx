import { redirect } from "next/navigation";
import { loggedInUser } from "./ui/logged-in-note";

// Someone logged in here goes to their account; anyone else to sign-up, which links to log-in.
export default async function Home() {
  redirect((await loggedInUser()) ? "/welcome" : "/signup");
}
