import { config, ConfigError } from "./env";

// Imported once at server start (instrumentation.ts), on the Node.js runtime only.
try {
  config();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`[holdfast] ${error.message}`);
  process.exit(1);
}
