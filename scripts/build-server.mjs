// `npm run build`, after `next build`: compiles server.ts (and the few lib/ modules it imports)
// to dist/server.mjs, so production runs plain JavaScript with no TypeScript loader.
import { build } from "esbuild";

await build({
  entryPoints: ["server.ts"],
  outfile: "dist/server.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // Next, zod and the rest come from node_modules at run time, as they do for the app itself.
  packages: "external",
  logLevel: "warning",
});
console.log("compiled server.ts to dist/server.mjs");
