import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { connection } from "next/server";
import { currentUser } from "@/lib/session/next";
import { AuthShell } from "@/app/ui/auth-shell";
import { LogoutButtons } from "./logout-buttons";
import "./welcome.css";

export const metadata: Metadata = { title: "Welcome" };

export default async function WelcomePage() {
  // Who is signed in is only known per request; never prerender or cache this page.
  await connection();
  const user = await currentUser();
  if (!user) redirect("/login");

  return (
    <AuthShell title={`Welcome, ${user.username}`} subtitle="You are logged in to Holdfast.">
      <dl className="account">
        <div className="account__row">
          <dt>Username</dt>
          <dd>{user.username}</dd>
        </div>
        <div className="account__row">
          <dt>Email</dt>
          <dd data-testid="user-email">{user.email}</dd>
        </div>
      </dl>
      <LogoutButtons />
    </AuthShell>
  );
}
