import { noAnswerWhy, type Finding } from "./diagnose";
import { judgeSignals, summarizeSignals, type InstanceSignals, type SignalsVerdict } from "./signals";
import { parsePrometheusText, type Sample } from "./signals-text";

/**
 * `npm run doctor -- --url <base>`'s signals part: reads the metrics endpoint of every instance
 * and judges them side by side. Through a load balancer each answer comes from one instance,
 * named by its `instance` label, so the endpoint is asked again until no new instance shows up.
 */

export const METRICS_PATH = "/api/internal/metrics";

export interface CollectOptions {
  /** One base URL behind a load balancer, or one per instance. */
  urls: string[];
  /** METRICS_TOKEN as the instances run with it. */
  token: string | undefined;
  path?: string;
  /** Stop as soon as this many instances answered (--instances). */
  expectInstances?: number;
  /** At most this many requests through one URL. */
  maxAttempts?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface Collected {
  /** Instance name → the samples of its latest answer. */
  instances: Map<string, Sample[]>;
  attempts: number;
  /** Why some answers were missing, each a finding with its fix. */
  problems: Finding[];
}

export const DEFAULT_MAX_ATTEMPTS = 30;

function instanceOf(samples: Sample[], response: Response): string | undefined {
  const info = samples.find((s) => s.name === "holdfast_signals_info") ?? samples.find((s) => s.labels.instance !== undefined);
  return info?.labels.instance ?? response.headers.get("x-holdfast-instance") ?? undefined;
}

export async function collectSignals(options: CollectOptions): Promise<Collected> {
  const collected: Collected = { instances: new Map(), attempts: 0, problems: [] };
  const problem = (check: string, text: string, fix: string) => {
    if (!collected.problems.some((p) => p.problem === text)) collected.problems.push({ check, problem: text, fix });
  };
  if (!options.token) {
    problem("signals-token", "METRICS_TOKEN is not set here, so the instances' signals cannot be read.", "Run the doctor with METRICS_TOKEN set to the value the instances run with.");
    return collected;
  }
  const doFetch = options.fetch ?? fetch;
  const path = options.path ?? METRICS_PATH;

  /** True when the answer named an instance not seen before. */
  const ask = async (base: string): Promise<boolean> => {
    collected.attempts++;
    const url = `${base.replace(/\/$/, "")}${path}`;
    let response: Response;
    try {
      response = await doFetch(url, { headers: { authorization: `Bearer ${options.token}` }, signal: AbortSignal.timeout(options.timeoutMs ?? 4_000) });
    } catch (error) {
      problem("signals-unreachable", `${url} did not answer: ${noAnswerWhy(error)}.`, "Check that the site runs and that this machine can reach it.");
      return false;
    }
    const who = response.headers.get("x-holdfast-instance");
    const at = who ? `instance ${who} (through ${url})` : url;
    if (response.status === 404) {
      problem("signals-off", `${at} serves no metrics (404): METRICS_TOKEN is not set there.`, "Set the same METRICS_TOKEN on every instance and restart them.");
      return false;
    }
    if (response.status === 401) {
      problem("signals-token", `${at} refused the METRICS_TOKEN given here (401).`, "Run the doctor with the METRICS_TOKEN the instances run with, and give every instance the same one.");
      return false;
    }
    if (response.status !== 200) {
      problem("signals-unreachable", `${at} answered ${response.status} instead of its metrics.`, "Read that instance's log for the failure.");
      return false;
    }
    const samples = parsePrometheusText(await response.text());
    const name = instanceOf(samples, response) ?? base;
    const isNew = !collected.instances.has(name);
    collected.instances.set(name, samples);
    return isNew;
  };

  if (options.urls.length > 1) {
    for (const base of options.urls) await ask(base);
    return collected;
  }
  const base = options.urls[0];
  if (!base) return collected;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  // A balancer that picks at random may repeat an instance a few times in a row; after twice as
  // many answers as instances seen with nobody new, the rest are unlikely to exist.
  let quiet = 0;
  while (collected.attempts < maxAttempts) {
    quiet = (await ask(base)) ? 0 : quiet + 1;
    const seen = collected.instances.size;
    if (options.expectInstances !== undefined && seen >= options.expectInstances) break;
    if (options.expectInstances === undefined && quiet >= Math.max(4, 2 * seen)) break;
  }
  if (options.expectInstances !== undefined && collected.instances.size < options.expectInstances) {
    problem(
      "signals-missing-instances",
      `Only ${collected.instances.size} of ${options.expectInstances} instances answered in ${collected.attempts} requests to ${base}${path}.`,
      "Check that every instance runs and is in the load balancer's pool, or pass each instance's URL.",
    );
  }
  return collected;
}

export interface SignalsReport extends SignalsVerdict {
  instances: InstanceSignals[];
  attempts: number;
}

/**
 * What scripts/doctor.ts calls: collects, then judges. `findings` holds the collection's
 * problems first, then the judged ones; `summary` is the one sentence to print.
 */
export async function doctorSignals(options: CollectOptions): Promise<SignalsReport> {
  const collected = await collectSignals(options);
  const instances = summarizeSignals([...collected.instances.values()].flat());
  const verdict = judgeSignals(instances);
  const findings = [...collected.problems, ...verdict.findings];
  const summary = verdict.findings.length || !collected.problems.length ? verdict.summary : collected.problems[0]!.problem;
  return { findings, summary, instances, attempts: collected.attempts };
}
