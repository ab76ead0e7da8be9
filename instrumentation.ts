/** Parses the configuration at boot, so a wrong setting stops the server with its one sentence. */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { config, ConfigError } = await import("./lib/env");
  try {
    config();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`[holdfast] ${error.message}`);
    process.exit(1);
  }
}
