import { migrate } from "../lib/migrate";

const url = process.env.DATABASE_URL;
if (!url) {
  console.error("DATABASE_URL is not set: set it to the postgres:// URL to migrate (npm run dev migrates the embedded database by itself).");
  process.exit(1);
}
const { applied, alreadyApplied } = await migrate(url);
for (const name of applied) console.log(`applied ${name}`);
console.log(`${applied.length} applied, ${alreadyApplied.length} already applied`);
