import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";
import "./globals.css";
import "./ui/forms.css";
import "./ui/buttons.css";

const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40"><rect width="40" height="40" rx="10" fill="#0d6f72"/>' +
  '<path d="M20 9v17m0 0c-5.5 0-8.5-3.2-9-6.5M20 26c5.5 0 8.5-3.2 9-6.5M14.5 14h11M20 26v5" fill="none" stroke="#fff" ' +
  'stroke-width="2.6" stroke-linecap="round" stroke-linejoin="round"/><circle cx="20" cy="8.5" r="2.4" fill="none" ' +
  'stroke="#fff" stroke-width="2.2"/></svg>';

export const metadata: Metadata = {
  title: { default: "Holdfast", template: "%s · Holdfast" },
  description: "Holdfast: sign up, log in and keep control of your sessions.",
  // Inline, so the brand mark needs no extra file and browsers stop asking for a missing /favicon.ico.
  icons: { icon: `data:image/svg+xml,${encodeURIComponent(FAVICON)}` },
};

export const viewport: Viewport = {
  themeColor: [
    { media: "(prefers-color-scheme: light)", color: "#f3f5f9" },
    { media: "(prefers-color-scheme: dark)", color: "#0e1420" },
  ],
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
