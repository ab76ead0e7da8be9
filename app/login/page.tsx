import type { Metadata } from "next";
import { AuthShell } from "@/app/ui/auth-shell";
import { cleanCode, firstParam, LOGIN_FIELDS, parseFieldsParam } from "@/app/ui/messages";
import { LoginForm } from "./login-form";

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export async function generateMetadata({ searchParams }: { searchParams: SearchParams }): Promise<Metadata> {
  const query = await searchParams;
  // Without JavaScript the title is the first thing read after the redirect back here.
  return { title: cleanCode(firstParam(query.error)) ? "Error: Log in" : "Log in" };
}

export default async function LoginPage({ searchParams }: { searchParams: SearchParams }) {
  const query = await searchParams;
  const code = cleanCode(firstParam(query.error));
  const fields = code === "invalid_input" ? parseFieldsParam(firstParam(query.fields), LOGIN_FIELDS) : {};

  return (
    <AuthShell
      title="Log in to Holdfast"
      subtitle="Welcome back. Use your username or your email."
      footer={
        <>
          New to Holdfast? <a href="/signup">Create an account</a>
        </>
      }
    >
      <LoginForm initialLogin={firstParam(query.login).slice(0, 320)} initialError={{ code, fields }} />
    </AuthShell>
  );
}
