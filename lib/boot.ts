import { config, ConfigError } from "./env";

// Imported once at server start (instrumentation.ts), on the Node.js runtime only.
try {
  config();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  for (const problem of error.problems) console.error(`[holdfast] ${problem}`);
  process.exit(1);
}
