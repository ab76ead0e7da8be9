/**
 * `npm run doctor [-- --url http://host:port] [--instances N]`: checks this environment's
 * configuration and, with --url, a running site, and prints each problem with its fix.
 */
import { diagnose } from "../lib/doctor/diagnose";
import { gather } from "../lib/doctor/gather";

const args = process.argv.slice(2);
const value = (name: string) => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const url = value("--url")?.replace(/\/$/, "");
const instances = value("--instances") ? Number(value("--instances")) : undefined;

const findings = diagnose(await gather(process.env, { url, instances }));
if (findings.length === 0) {
  console.log("doctor: no problems found");
} else {
  for (const f of findings) console.log(`✗ [${f.check}] ${f.problem}\n  fix: ${f.fix}`);
  console.log(`doctor: ${findings.length} problem${findings.length === 1 ? "" : "s"}`);
}
process.exit(findings.length === 0 ? 0 : 1);
