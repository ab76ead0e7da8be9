/** @type {import('next').NextConfig} */
const nextConfig = {
  // The Redis driver keeps sockets and runs only on the server: load it from node_modules
  // instead of bundling it. @holdfast/session itself is bundled, so its `next/headers` and
  // React `cache` are the ones this app renders with.
  serverExternalPackages: ["redis", "@redis/client"],
  poweredByHeader: false,
};

export default nextConfig;
