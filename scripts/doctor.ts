/**
 * `npm run doctor [-- --url http://host:port] [--instances N]`: checks this environment's
 * configuration and, with --url, a running site, and prints each problem with its fix. With
 * nothing configured it checks what `npm run dev` runs with: the embedded database and the
 * generated development secret.
 */
import { diagnose } from "../lib/doctor/diagnose";
import { gather } from "../lib/doctor/gather";
import { zeroConfig } from "../lib/zero-config";

const args = process.argv.slice(2);
const value = (name: string) => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const url = value("--url")?.replace(/\/$/, "");
const instances = value("--instances") ? Number(value("--instances")) : undefined;

const { env, embedded } = await zeroConfig(process.env, (line) => console.log(`doctor: ${line}`));
let findings;
try {
  findings = diagnose(await gather(env, { url, instances, embeddedDatabase: embedded !== undefined }));
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
