import type { Metadata } from "next";
import { AuthShell } from "@/app/ui/auth-shell";

export const metadata: Metadata = { title: "Page not found" };

/** Any address that names no page: the site's own card, with the ways in, instead of Next's bare default. */
export default function NotFound() {
  return (
    <AuthShell title="Page not found" subtitle="There is no page at this address. It may have been mistyped, or moved.">
      <p className="form-note" data-testid="not-found">
        <a href="/signup">Create an account</a>, <a href="/login">log in</a>, or go to <a href="/welcome">your account</a>.
      </p>
    </AuthShell>
  );
}
