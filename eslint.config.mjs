import nextCoreWebVitals from "eslint-config-next/core-web-vitals";
import nextTypeScript from "eslint-config-next/typescript";

/**
 * ESLint with Next's own rules (React, hooks, Next's pages and images, core web vitals) and its
 * TypeScript rules. `npm run lint` allows no warning.
 */
const config = [
  ...nextCoreWebVitals,
  ...nextTypeScript,
  {
    ignores: ["**/node_modules/**", "**/.next/**", "**/next-env.d.ts", "packages/*/dist/**", "dist/**", ".holdfast/**", "artifacts/**", "prisma/generated/**", "next-env.d.ts", "test-results/**", "bench/results/**"],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: "error" },
  },
];

export default config;
