/**
 * The layering, checked by `npm test` (scripts/test-all.ts runs `depcruise` with this file).
 * Each rule is an arrow we never want; docs/ARCHITECTURE.md draws the ones we do.
 */
const STORE = "^(packages/session/(src|dist)/(stores|redis)/|node_modules/@holdfast/session/(src|dist)/(stores|redis)/)";
const STORE_ONLY = "^(packages/session/(src|dist)/stores/|node_modules/@holdfast/session/(src|dist)/stores/)";
const DRIVER = "^node_modules/(@prisma/client|@prisma/adapter-pg|pg|redis|@redis/[^/]+|@upstash/redis|iron-session)/";

module.exports = {
  forbidden: [
    {
      name: "app-imports-no-store",
      comment: "Pages and route handlers reach sessions through lib/next/session.ts, never a store, Prisma, the database module or a driver.",
      severity: "error",
      from: { path: "^app/" },
      to: { path: [STORE, DRIVER, "^prisma/generated/", "^lib/db\\.ts$", "^lib/services\\.ts$"] },
    },
    {
      name: "core-imports-no-next",
      comment: "The session core is framework-free: only packages/session/src/next.ts binds to Next (and React's cache).",
      severity: "error",
      from: { path: "^packages/session/src/", pathNot: "^packages/session/src/next\\.ts$" },
      to: { path: "^node_modules/(next|react|react-dom)/" },
    },
    {
      name: "core-imports-no-driver",
      comment: "The core (the package's top folder) imports no driver; each store imports only its own.",
      severity: "error",
      from: { path: "^packages/session/src/[^/]+\\.ts$" },
      to: { path: DRIVER },
    },
    {
      name: "package-imports-no-app",
      comment: "The package stands alone: it never imports the app, its tests or its tooling.",
      severity: "error",
      from: { path: "^packages/" },
      to: { path: "^(app|lib|testing|bench|scripts|e2e|examples|prisma)/" },
    },
    {
      name: "captcha-and-users-import-no-store",
      comment: "Captcha and users know the Session and the ledger interfaces, never which store serves them (a ledger may speak Redis through the transport seam).",
      severity: "error",
      from: { path: "^lib/(captcha/|users\\.ts)", pathNot: "\\.test\\.ts$" },
      to: { path: [STORE_ONLY, "^lib/services\\.ts$"] },
    },
    {
      name: "shipped-code-imports-no-test-tooling",
      comment: "What ships (lib/, app/, the package's src) never imports testing/, bench/ or e2e/ outside tests.",
      severity: "error",
      from: { path: "^(lib|app|packages/session/src)/", pathNot: "\\.test\\.tsx?$" },
      to: { path: "^(testing|bench|e2e)/" },
    },
  ],
  options: {
    // The generated Prisma client is a target the rules name, so it is reached but not followed.
    doNotFollow: { path: ["node_modules", "^prisma/generated/"] },
    exclude: { path: "(^|/)\\.next/" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".tsx", ".js", ".mjs", ".d.ts"],
    },
  },
};
