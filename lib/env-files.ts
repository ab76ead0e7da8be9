import { existsSync } from "node:fs";
import path from "node:path";

/**
 * What a command (`db:migrate`, `doctor`, `sessions:clear`) says about the .env files it read, so
 * that settings kept for `npm start` in `.env.production` are never silently missed: read outside
 * production, the command names them and how to read them. Null when there is nothing to say.
 */
export function envFilesNote(files: readonly string[], dev: boolean, command: string, dir = process.cwd()): string | null {
  const unread = dev ? [".env.production", ".env.production.local"].filter((name) => existsSync(path.join(dir, name))) : [];
  const read = files.length ? `settings read from ${files.join(", ")}` : "no .env file read";
  if (unread.length) {
    return `${read}; not from ${unread.join(" or ")}, which only production reads (as \`npm start\` runs): for the settings \`npm start\` uses, run \`NODE_ENV=production ${command}\`.`;
  }
  return files.length ? `${read}.` : null;
}
