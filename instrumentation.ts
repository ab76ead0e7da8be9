/**
 * At boot: parses the configuration, so a wrong setting stops the server with its one sentence,
 * then names this process's signals (instance and store) for the metrics endpoint.
 */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  await import("./lib/boot");
  const [{ registerSignals }, { config }] = await Promise.all([import("./lib/signals/register"), import("./lib/env")]);
  registerSignals(process.env.NEXT_RUNTIME, config());
}
