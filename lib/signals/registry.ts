import { hostname } from "node:os";
import type { Attributes, Counter, Histogram } from "@opentelemetry/api";
import { PrometheusSerializer } from "@opentelemetry/exporter-prometheus";
import { MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";

/**
 * The per-process registry of signals: how every response ended (by the contract's code) and
 * how long every store round trip took, each labelled by instance and store so that several
 * instances' numbers can be told apart and compared. Built on OpenTelemetry's metrics SDK and
 * read on demand in Prometheus' text format; nothing is pushed and no port is opened.
 */

export type StoreOp = "create" | "read" | "update" | "rotate" | "delete" | "revokeUser" | "ping" | "pingCache" | "captcha.put" | "captcha.take";
export type StoreOutcome = "ok" | "error" | "unavailable";

export interface Outcome {
  /** A bounded route label (see routeLabel), never a raw path: clients choose paths. */
  route: string;
  status: number;
  /** The contract's stable code, or "ok" for a success. */
  code: string;
}

export interface SignalLabels {
  instance: string;
  /** The configured store kind (SESSION_STORE). */
  store: string;
  /**
   * Which backend the store talks to, as a short fingerprint (see storeTarget): equal on
   * instances that share one store, so the doctor can tell which instance is the odd one.
   */
  target?: string;
  /**
   * A short fingerprint of the secret this instance seals and signs with (the first of
   * SESSION_SECRET's list; see secretFingerprint): equal on instances that share it. Served only
   * to the holder of METRICS_TOKEN.
   */
  secret?: string;
}

export interface Signals {
  readonly labels: Readonly<SignalLabels>;
  recordOutcome(outcome: Outcome): void;
  observeStoreCall(store: string, op: StoreOp, ms: number, outcome: StoreOutcome): void;
  prometheusText(): Promise<string>;
  shutdown(): Promise<void>;
}

export const METRIC = {
  responses: "holdfast_responses",
  storeCalls: "holdfast_store_call_duration_seconds",
  info: "holdfast_signals_info",
} as const;

// Round trips are a fraction of a millisecond in process and tens of milliseconds across a
// region; the last buckets catch the client timeouts that end in session_store_unavailable.
const STORE_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** A reader that only collects when asked: the metrics endpoint asks, on each scrape. */
class PullReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** A name for an instance that was given no INSTANCE_NAME: the host (a container's id) and the process. */
export function generatedInstanceId(): string {
  return `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 64);
}

/** A registry of its own; tests make one each, the app uses the process's (processSignals). */
export function createSignals(initial: SignalLabels): Signals {
  const labels = { ...initial };
  const reader = new PullReader();
  const provider = new MeterProvider({ readers: [reader] });
  const meter = provider.getMeter("holdfast");
  const responses: Counter = meter.createCounter(METRIC.responses, {
    description: "Responses served, by route, status and the contract's code (ok for a success).",
  });
  const storeCalls: Histogram = meter.createHistogram(METRIC.storeCalls, {
    description: "Store round trips, by store, operation and outcome (ok, error, unavailable).",
    unit: "s",
    advice: { explicitBucketBoundaries: STORE_BUCKETS_S },
  });
  // Always present, so that an instance that has served nothing yet still names itself to a scrape.
  meter
    .createObservableGauge(METRIC.info, { description: "1 for each process; its labels name the instance and the configured store." })
    .addCallback((result) => result.observe(1, { instance: labels.instance, store: labels.store, target: labels.target ?? "", secret: labels.secret ?? "" }));
  const serializer = new PrometheusSerializer("", false, undefined, true, true);

  return {
    labels,
    recordOutcome({ route, status, code }) {
      const attributes: Attributes = { instance: labels.instance, store: labels.store, route, status: String(status), code };
      responses.add(1, attributes);
    },
    observeStoreCall(store, op, ms, outcome) {
      storeCalls.record(ms / 1000, { instance: labels.instance, store, op, outcome });
    },
    async prometheusText() {
      const { resourceMetrics } = await reader.collect();
      return serializer.serialize(resourceMetrics);
    },
    shutdown: () => provider.shutdown(),
  };
}

interface ProcessState {
  signals: Signals;
  configured: boolean;
}

// Next compiles instrumentation.ts and the route handlers into separate bundles, each with its
// own copy of this module; a global symbol gives them one registry per process.
const STATE = Symbol.for("holdfast.signals");
type WithState = typeof globalThis & { [STATE]?: ProcessState };

function state(): ProcessState {
  const g = globalThis as WithState;
  return (g[STATE] ??= { signals: createSignals({ instance: generatedInstanceId(), store: "unknown" }), configured: false });
}

/** The process's registry, made on first use. */
export function processSignals(): Signals {
  return state().signals;
}

/**
 * Names the process's instance and store, once: later calls change nothing and return false.
 * Counts recorded before it keep the labels they were recorded with.
 */
export function configureProcessSignals(labels: SignalLabels): boolean {
  const s = state();
  if (s.configured) return false;
  Object.assign(s.signals.labels, labels);
  s.configured = true;
  return true;
}

export function recordOutcome(outcome: Outcome): void {
  processSignals().recordOutcome(outcome);
}

export function observeStoreCall(store: string, op: StoreOp, ms: number, outcome: StoreOutcome): void {
  processSignals().observeStoreCall(store, op, ms, outcome);
}

export function prometheusText(): Promise<string> {
  return processSignals().prometheusText();
}
