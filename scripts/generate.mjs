// After install: the Prisma client, then the session package's JavaScript (packages/session/dist),
// which the app and the example import like any installed package.
//
// `prisma generate` never runs the schema engine, but Prisma 7 insists that the binary's path
// exists; it cannot be downloaded here, so point it at any existing file.
import { spawnSync } from "node:child_process";

const env = { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath };
const prisma = spawnSync("npx", ["prisma", "generate"], { stdio: "inherit", env });
if (prisma.status !== 0) process.exit(prisma.status ?? 1);
const session = spawnSync("npx", ["tsc", "-p", "packages/session/tsconfig.build.json"], { stdio: "inherit" });
process.exit(session.status ?? 1);
