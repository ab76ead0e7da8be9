/** `npm run db:migrate`: applies the shipped migrations to DATABASE_URL, or to the embedded database when it is unset. */
import { loadEnvFiles } from "../lib/env";
import { migrate } from "../lib/migrate";
import { zeroConfig } from "../lib/zero-config";

// DATABASE_URL may be in a .env file, as the app would read it.
loadEnvFiles(process.env.NODE_ENV !== "production");
const { env, embedded } = await zeroConfig({ ...process.env, SESSION_SECRET: process.env.SESSION_SECRET || "unused-by-migrations" }, (line) => console.log(`[holdfast] ${line}`));
try {
  const { applied, alreadyApplied } = await migrate(env.DATABASE_URL!);
  for (const name of applied) console.log(`applied ${name}`);
  console.log(`${applied.length} applied, ${alreadyApplied.length} already applied`);
} finally {
  await embedded?.stop();
}
