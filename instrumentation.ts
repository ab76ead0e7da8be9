/** Parses the configuration at boot, so a wrong setting stops the server with its one sentence. */
export async function register() {
  if (process.env.NEXT_RUNTIME === "nodejs") await import("./lib/boot");
}
