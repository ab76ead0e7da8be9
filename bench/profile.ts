/**
 * Reads a V8 `.cpuprofile` (from `node --cpu-prof`) and sums self time per function and per
 * owner (our lib/ code, Next, Prisma, node internals, …), plus the inclusive time of our own
 * functions. Frames in Next's bundled, minified chunks are mapped back to their sources through
 * the chunks' source maps, so bundled lib/ code counts as ours and bundled packages as theirs.
 *
 *   tsx bench/profile.ts <file.cpuprofile> [--top 20] [--from-ms N] [--to-ms N]
 */
import { existsSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  function: string;
  location: string;
  owner: string;
  ms: number;
  percent: number;
  /** For self time: the nearest caller outside node internals and native code, the most frequent first. */
  calledFrom?: string;
}

export interface ProfileSummary {
  /** Sampled wall time in the window, idle included. */
  totalMs: number;
  busyMs: number;
  top: FunctionTime[];
  byOwner: { owner: string; ms: number; percent: number }[];
  /** Our functions by inclusive time (self plus everything they called), each sample counted once per function. */
  oursInclusive: FunctionTime[];
}

interface Frame {
  name: string;
  location: string;
  owner: string;
}

const OURS = /^(lib|app|bench|server\.ts|instrumentation\.ts)/;

/** Who a source path belongs to; "ours" is everything in this repository outside node_modules. */
export function ownerOf(file: string): string {
  if (file.startsWith("node:")) return "node internals";
  const nm = file.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = file.slice(nm + "node_modules/".length).split("/");
    const pkg = rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
    if (pkg === "next") return "next";
    if (pkg.startsWith("@prisma") || pkg === "prisma") return "prisma";
    if (pkg === "pg" || pkg.startsWith("pg-")) return "pg";
    return pkg;
  }
  if (OURS.test(file)) return "ours";
  if (file.includes(".next/server/")) return "next (bundled runtime)";
  return "other";
}

/** Source maps of Next's chunks, loaded once per chunk. */
class Mapper {
  readonly #maps = new Map<string, { map: SourceMap; contents: Map<string, string[]> } | null>();

  resolve(frame: CallFrame): Frame | undefined {
    if (!frame.url.includes("/.next/server/")) return undefined;
    const file = frame.url.startsWith("file:") ? fileURLToPath(frame.url) : frame.url;
    let entry = this.#maps.get(file);
    if (entry === undefined) {
      entry = null;
      if (existsSync(`${file}.map`)) {
        try {
          const raw = JSON.parse(readFileSync(`${file}.map`, "utf8")) as { sources: string[]; sourcesContent?: (string | null)[] };
          const contents = new Map(raw.sources.map((s, i) => [s, (raw.sourcesContent?.[i] ?? "").split("\n")]));
          entry = { map: new SourceMap(raw as never), contents };
        } catch {
          entry = null;
        }
      }
      this.#maps.set(file, entry);
    }
    if (!entry) return undefined;
    const found = entry.map.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string; originalLine?: number; originalColumn?: number };
    if (!found.originalSource) return undefined;
    const source = found.originalSource.replace(/^(\.\.\/)+/, "").replace(/^.*?\[project\]\//, "");
    const text = entry.contents.get(found.originalSource)?.[found.originalLine ?? 0] ?? "";
    const name = functionNameAt(text, found.originalColumn ?? 0) ?? frame.functionName ?? "(anonymous)";
    return { name, location: `${source}:${(found.originalLine ?? 0) + 1}`, owner: ownerOf(source) };
  }
}

/** The original name of a minified function, read off its source line. */
function functionNameAt(line: string, column: number): string | undefined {
  const at = line.slice(column);
  const direct = /^(?:async\s+)?(?:function\s*\*?\s*)?(?:get\s+|set\s+|static\s+)?(#?[A-Za-z_$][\w$]*)\s*\(/.exec(at);
  if (direct && direct[1] !== "function") return direct[1];
  const assigned = /(#?[A-Za-z_$][\w$]*)\s*[:=]\s*(?:async\s*)?(?:function\b|\([^)]*\)\s*=>|[A-Za-z_$][\w$]*\s*=>)/.exec(line);
  return assigned?.[1];
}

function frameOf(node: ProfileNode, mapper: Mapper): Frame {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName || "(anonymous)";
  if (name === "(idle)") return { name, location: "", owner: "idle" };
  if (name === "(garbage collector)") return { name, location: "", owner: "GC" };
  if (name === "(program)" || name === "(root)" || !url) return { name, location: "", owner: "V8/native" };
  const mapped = mapper.resolve(node.callFrame);
  if (mapped) return mapped;
  const path = url.startsWith("file:") ? fileURLToPath(url) : decodeURIComponent(url);
  const nm = path.lastIndexOf("/node_modules/");
  const short = nm >= 0 ? path.slice(nm + 1) : path.replace(/^.*?\/(lib|app|bench|\.next)\//, "$1/");
  return { name, location: `${short}:${lineNumber + 1}`, owner: ownerOf(short) };
}

export function summarizeProfile(file: string, options: { top?: number; fromMs?: number; toMs?: number } = {}): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const mapper = new Mapper();
  const frames = new Map<number, Frame>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    frames.set(node.id, frameOf(node, mapper));
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const from = (options.fromMs ?? 0) * 1000;
  const to = (options.toMs ?? Infinity) * 1000;

  const self = new Map<string, { frame: Frame; us: number; callers: Map<string, number> }>();
  const inclusive = new Map<string, { frame: Frame; us: number }>();
  const owners = new Map<string, number>();
  let elapsed = 0;
  let totalUs = 0;
  let idleUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    elapsed += delta;
    if (elapsed < from || elapsed > to) continue;
    const id = profile.samples[i]!;
    const frame = frames.get(id)!;
    totalUs += delta;
    if (frame.owner === "idle") {
      idleUs += delta;
      continue;
    }
    owners.set(frame.owner, (owners.get(frame.owner) ?? 0) + delta);
    const key = `${frame.name}@${frame.location}`;
    const s = self.get(key) ?? { frame, us: 0, callers: new Map<string, number>() };
    s.us += delta;
    self.set(key, s);
    for (let n = parent.get(id); n !== undefined; n = parent.get(n)) {
      const f = frames.get(n)!;
      if (f.owner === "node internals" || f.owner === "V8/native") continue;
      const caller = `${f.name} (${f.location})`;
      s.callers.set(caller, (s.callers.get(caller) ?? 0) + delta);
      break;
    }
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const f = frames.get(n)!;
      if (f.owner !== "ours") continue;
      const k = `${f.name}@${f.location}`;
      if (seen.has(k)) continue;
      seen.add(k);
      const e = inclusive.get(k) ?? { frame: f, us: 0 };
      e.us += delta;
      inclusive.set(k, e);
    }
  }
  const busyUs = Math.max(1, totalUs - idleUs);
  const row = ({ frame, us, callers }: { frame: Frame; us: number; callers?: Map<string, number> }): FunctionTime => ({
    function: frame.name,
    location: frame.location,
    owner: frame.owner,
    ms: Math.round(us / 100) / 10,
    percent: Math.round((us / busyUs) * 1000) / 10,
    ...(callers?.size
      ? {
          calledFrom: [...callers]
            .sort((a, b) => b[1] - a[1])
            .slice(0, 2)
            .map(([c, v]) => `${c} ${Math.round((v / us) * 100)}%`)
            .join("; "),
        }
      : {}),
  });
  const top = options.top ?? 20;
  return {
    totalMs: totalUs / 1000,
    busyMs: busyUs / 1000,
    top: [...self.values()].sort((a, b) => b.us - a.us).slice(0, top).map(row),
    byOwner: [...owners]
      .sort((a, b) => b[1] - a[1])
      .map(([owner, us]) => ({ owner, ms: Math.round(us / 100) / 10, percent: Math.round((us / busyUs) * 1000) / 10 })),
    oursInclusive: [...inclusive.values()].sort((a, b) => b.us - a.us).slice(0, top).map(row),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const file = process.argv[2];
  if (!file) throw new Error("usage: tsx bench/profile.ts <file.cpuprofile> [--top N] [--from-ms N] [--to-ms N]");
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const summary = summarizeProfile(file, { top: arg("--top"), fromMs: arg("--from-ms"), toMs: arg("--to-ms") });
  console.log(`busy ${summary.busyMs.toFixed(0)} ms of ${summary.totalMs.toFixed(0)} ms sampled\nself time by owner:`);
  for (const o of summary.byOwner) console.log(`  ${o.percent.toFixed(1).padStart(5)}%  ${o.owner}`);
  console.log("self time by function:");
  for (const f of summary.top) console.log(`  ${f.percent.toFixed(1).padStart(5)}%  ${f.ms.toFixed(0).padStart(6)} ms  ${f.function}  ${f.location}  [${f.owner}]${f.calledFrom ? `  ← ${f.calledFrom}` : ""}`);
  console.log("our functions, inclusive:");
  for (const f of summary.oursInclusive) console.log(`  ${f.percent.toFixed(1).padStart(5)}%  ${f.ms.toFixed(0).padStart(6)} ms  ${f.function}  ${f.location}`);
}
