/**
 * The doctor's command line. A value it cannot use is refused with one sentence, never dropped:
 * a mistyped `--instances` that was silently ignored gave "no problems found" for a check that
 * never ran.
 */

export interface DoctorOptions {
  /** The running site's base URL, without a trailing slash. */
  url?: string;
  /** How many instances the operator runs or plans. */
  instances?: number;
  /** Each instance's own base URL, for its signals. */
  metricsUrls: string[];
}

export class UsageError extends Error {
  override name = "UsageError";
}

export const USAGE = "npm run doctor [-- --url http://host:port] [--instances N] [--metrics-url http://instance …]";
export const MAX_INSTANCES = 1000;

function siteUrl(option: string, value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new UsageError(`${option} ${value} is not an http:// or https:// URL: give the site's address, such as ${option} http://127.0.0.1:3000.`);
  }
  return value.replace(/\/+$/, "");
}

export function doctorOptions(args: string[]): DoctorOptions {
  const options: DoctorOptions = { metricsUrls: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    // Both `--url X` and `--url=X`.
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (name !== "--url" && name !== "--instances" && name !== "--metrics-url") {
      throw new UsageError(`${arg} is not an option of the doctor: it takes --url, --instances and --metrics-url (${USAGE}).`);
    }
    const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined || value === "" || (eq === -1 && value.startsWith("--"))) {
      throw new UsageError(`${name} needs a value: ${USAGE}.`);
    }
    if (name === "--url") {
      if (options.url !== undefined) throw new UsageError(`--url is given twice: give the site's address once (use --metrics-url for each instance).`);
      options.url = siteUrl(name, value);
    } else if (name === "--metrics-url") {
      options.metricsUrls.push(siteUrl(name, value));
    } else {
      const count = /^\d{1,4}$/.test(value) ? Number(value) : NaN;
      if (!(count >= 1 && count <= MAX_INSTANCES)) {
        throw new UsageError(`--instances ${value} is not a whole number from 1 to ${MAX_INSTANCES}: give how many instances you run, such as --instances 3.`);
      }
      options.instances = count;
    }
  }
  return options;
}
