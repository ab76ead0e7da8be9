/**
 * `npm run doctor [-- --url http://host:port] [--instances N] [--metrics-url http://instance …]`:
 * checks this environment's configuration and, with --url, a running site, and prints each
 * problem with its fix. With METRICS_TOKEN set it also reads every instance's signals (through
 * --url, asking until each instance has answered, or from each --metrics-url) and names the
 * cause of what stands out. With nothing configured it checks what `npm run dev` runs with: the
 * embedded database and the generated development secret. Exits 0 when it finds nothing, 1 when it
 * finds problems, and 2 when an option is wrong (said in one sentence).
 */
import { diagnose, type Finding } from "../lib/doctor/diagnose";
import { doctorOptions, UsageError, type DoctorOptions } from "../lib/doctor/options";
import { doctorSignals } from "../lib/doctor/signals-collect";
import { gather } from "../lib/doctor/gather";
import { loadEnvFiles } from "../lib/env";
import { envFilesNote } from "../lib/env-files";
import { zeroConfig } from "../lib/zero-config";

let options: DoctorOptions;
try {
  options = doctorOptions(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  // 2, as for any command used wrongly: 1 means the doctor ran and found problems.
  console.error(`doctor: ${error.message}`);
  process.exit(2);
}
const { url, instances, metricsUrls } = options;

// The settings the app would run with, .env files included.
const dev = process.env.NODE_ENV !== "production";
const note = envFilesNote(loadEnvFiles(dev), dev, "npm run doctor");
if (note) console.log(`doctor: ${note}`);
const { env, embedded } = await zeroConfig(process.env, (line) => console.log(`doctor: ${line}`));
let findings: Finding[];
try {
  const facts = await gather(env, { url, instances, embeddedDatabase: embedded !== undefined });
  findings = diagnose(facts);
  const token = facts.config?.metricsToken;
  if ((url || metricsUrls.length) && token) {
    // The token comes from the environment, never the command line, so it stays out of shell history.
    const signals = await doctorSignals({ urls: metricsUrls.length ? metricsUrls : [url!], token, expectInstances: instances });
    console.log(`doctor: signals from ${signals.instances.length} instance${signals.instances.length === 1 ? "" : "s"}: ${signals.summary}`);
    findings.push(...signals.findings);
  } else if (url || metricsUrls.length) {
    console.log("doctor: signals skipped (set METRICS_TOKEN to the site's metrics token to read them)");
  }
} finally {
  await embedded?.stop().catch(() => {});
}
if (findings.length === 0) {
  console.log("doctor: no problems found");
} else {
  for (const f of findings) console.log(`✗ [${f.check}] ${f.problem}\n  fix: ${f.fix}`);
  console.log(`doctor: ${findings.length} problem${findings.length === 1 ? "" : "s"}`);
}
process.exit(findings.length === 0 ? 0 : 1);
