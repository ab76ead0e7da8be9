/**
 * Writes and reads one session through the app's own configuration (the environment it is
 * started with), and prints `ok` or the error's name: for tests that need a process of its own,
 * such as one started with NODE_EXTRA_CA_CERTS, which Node reads only at start.
 */
import { parseConfig } from "../lib/env";
import { createServices } from "../lib/services";

const services = createServices(parseConfig(process.env));
try {
  const now = Date.now();
  const token = await services.store.create({ data: { n: 1 }, userId: null, createdAt: now, lastActiveAt: now }, now + 60_000);
  const read = await services.store.read(token, now);
  console.log(JSON.stringify(read?.data) === '{"n":1}' ? "ok" : "wrong read");
} catch (error) {
  console.log((error as Error).name);
} finally {
  await services.close().catch(() => {});
}
