import { redirect } from "next/navigation";

// There is nothing to show before an account exists; sign-up links to log-in for everyone else.
export default function Home() {
  redirect("/signup");
}
