/**
 * The benchmark's outputs: a Markdown report, the raw JSON and hand-written SVG bar charts.
 *
 *   tsx bench/report.ts <results.json> [outDir]   writes the report again from a run's raw JSON
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { CaptchaRate, CookieSizes, RoundTrips } from "./inprocess";
import type { LoadResult } from "./load";
import type { HashFloor } from "./hash-floor";
import { djangoBest, pairedRatios, registerTail, type PeerComparison, type PeerTarget } from "./peer";
import type { ProfileSummary } from "./profile";
import type { ScaleResult } from "./scale";
import { STORE_TITLE, STORES, type StoreLabel } from "./servers";
import { ms, rate, ratio } from "./stats";

export interface FlowRow {
  store: StoreLabel;
  shape: "next-1" | "next-2" | "next-1-cost17" | "node-1";
  hashCost: number;
  result: LoadResult;
}

export interface EndpointSet {
  store: StoreLabel;
  server: "next" | "node";
  url: string;
  ping?: LoadResult;
  me?: LoadResult;
  captcha?: LoadResult;
  hello?: LoadResult;
}

export interface Results {
  date: string;
  trial: boolean;
  command: string;
  source: string;
  machine: { cores: number; cpu: string; node: string; memoryGb: number; loadAverageAtStart: number[]; loadAverageAtEnd?: number[] };
  settings: Record<string, unknown> & { concurrency: number; passwordHashCost: number };
  durationSeconds?: number;
  flows: FlowRow[];
  endpoints: EndpointSet[];
  wrkHello?: { requestsPerSecond: number; p50Ms: number; p99Ms: number };
  roundTrips: Partial<Record<StoreLabel, RoundTrips[]>>;
  captcha?: CaptchaRate;
  captchaBench?: { file: string; results: { renderer: string; perSecond: number; p50Ms: number; meanBytes: number }[] };
  cookieSizes?: CookieSizes;
  scale?: ScaleResult;
  profile?: { store: StoreLabel; scenario: string; server: string; file: string; perSecond: number; summary: ProfileSummary };
  /** The Django comparison (bench/peer.ts): the fast hash, then each side's default. */
  peer?: PeerComparison[];
  /** One hash on each side, one at a time (bench/hash-floor.ts). */
  hashFloor?: HashFloor;
  errors: string[];
}

const SHAPE_TITLE: Record<FlowRow["shape"], string> = {
  "next-1": "Next ×1 behind nginx",
  "next-2": "Next ×2 behind nginx",
  "node-1": "node:http ×1 (bench/node-server.ts)",
  // The key predates Argon2id; the rows are at the default hash, Argon2id 19 MiB.
  "next-1-cost17": "Next ×1 behind nginx, default hash (Argon2id 19 MiB)",
};

/** A Markdown table; `align` has an l or r per column, and columns past its end are right-aligned figures. */
const table = (head: string[], rows: (string | number)[][], align = "l") =>
  [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (align[i] === "l" ? "---" : "---:")).join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");

const pcts = (r: LoadResult | undefined, name: string) => {
  const s = r?.endpoints[name];
  return s ? `${ms(s.p50Ms)} / ${ms(s.p95Ms)} / ${ms(s.p99Ms)}` : "–";
};
const perSecond = (r?: LoadResult) => (r ? rate(r.perSecond) : "–");
const q = (a?: LoadResult, b?: LoadResult) => (a && b && b.perSecond > 0 ? ratio(a.perSecond / b.perSecond) : "–");
const p50 = (r?: LoadResult) => (r ? ms(r.iteration.p50Ms) : "–");
const cpu = (r?: LoadResult) => (r?.serverCpuMsPerIteration !== undefined ? ms(r.serverCpuMsPerIteration) : "–");
/** How many times cheaper `a` is than `b` in server CPU per request: the load-robust counterpart of a throughput ratio. */
const cpuRatio = (a?: LoadResult, b?: LoadResult) =>
  a?.serverCpuMsPerIteration && b?.serverCpuMsPerIteration ? ratio(b.serverCpuMsPerIteration / a.serverCpuMsPerIteration) : "–";
const p99 = (r?: LoadResult) => (r ? ms(r.iteration.p99Ms) : "–");

function flowSection(results: Results): string {
  const rows = (shapes: FlowRow["shape"][]) =>
    results.flows
      .filter((f) => shapes.includes(f.shape))
      .map((f) => [
        STORE_TITLE[f.store],
        SHAPE_TITLE[f.shape],
        `**${rate(f.result.perSecond)}**`,
        pcts(f.result, "GET /api/challenge"),
        pcts(f.result, "GET /api/captcha"),
        pcts(f.result, "POST /api/register"),
        pcts(f.result, "GET /api/me"),
        cpu(f.result),
        f.result.iterations,
        f.result.errors,
      ]);
  const head = ["store", "shape", "flows/s", "challenge p50/p95/p99 ms", "captcha p50/p95/p99 ms", "register p50/p95/p99 ms", "me p50/p95/p99 ms", "app CPU ms/flow", "flows", "errors"];
  const s = results.settings.seconds as { flow: number; realCost: number; node: number };
  return [
    "## 1. Sign-up flow throughput",
    "",
    `A flow is GET /api/challenge (the proof of work, solved in the load generator at \`CAPTCHA_TEST_MODE=1\`'s cost of at most 1000 hashes, a few ms of the flow's time), GET /api/captcha, POST /api/register (answer from \`X-Captcha-Answer\`, \`CAPTCHA_TEST_MODE=1\`), GET /api/me, with a fresh cookie jar per flow; ${results.settings.concurrency} closed-loop virtual users (bench/load.ts, its own process, keep-alive). **Password hash cost ${results.settings.passwordHashCost} (\`PASSWORD_HASH_COST=${results.settings.passwordHashCost}\`, \`BENCHMARK=1\`), not the default 19 MiB of Argon2id**; \`RATE_LIMIT_MULTIPLIER=1000000\`. ${s.flow} s per Next shape, ${s.node} s for node:http, after a warm-up. "Next ×1" and "Next ×2" are testing/cluster.ts: server.ts instances behind nginx (round-robin), so the two differ only in the instance count. *App CPU ms/flow* is the CPU time (all threads, from /proc) of the app's processes over the run divided by the flows completed; Postgres, Redis and nginx are not in it. On a machine shared with other work it moves far less than flows/s does.`,
    "",
    table(head, rows(["next-1", "next-2", "node-1"]), "ll"),
    "",
    `With the default hash (Argon2id, 19 MiB, t = 2): ${s.realCost} s each with 4 virtual users, since lib/password.ts runs one hash at a time per instance on 2 cores and more users would only queue (their latency is mostly that queue). Few flows, wide error bars:`,
    "",
    table(head, rows(["next-1-cost17"]), "ll"),
  ].join("\n");
}

function overheadSection(results: Results): string {
  const next = results.endpoints.filter((e) => e.server === "next");
  return [
    "## 2. Session overhead: GET /api/me (logged in) vs GET /api/ping (no session)",
    "",
    "Against the single Next instance's own port (no proxy), one logged-in session per virtual user. /api/ping is `app/api/ping/route.ts`: a constant JSON, no session, no store. Each endpoint's time is split into slices interleaved with the other endpoints of the same server (ping, me, captcha, ping, me, captcha, …), so background load on the shared machine hits them alike.",
    "",
    table(
      ["store", "ping req/s", "ping p50 / p99 ms", "ping CPU ms/req", "me req/s", "me p50 / p99 ms", "me CPU ms/req", "me ÷ ping throughput", "me ÷ ping p50 latency", "me ÷ ping by CPU"],
      next.map((e) => [
        STORE_TITLE[e.store],
        perSecond(e.ping),
        `${p50(e.ping)} / ${p99(e.ping)}`,
        cpu(e.ping),
        perSecond(e.me),
        `${p50(e.me)} / ${p99(e.me)}`,
        cpu(e.me),
        q(e.me, e.ping),
        e.me && e.ping ? ratio(e.me.iteration.p50Ms / e.ping.iteration.p50Ms) : "–",
        cpuRatio(e.me, e.ping),
      ]),
    ),
  ].join("\n");
}

function roundTripSection(results: Results): string {
  const stores = STORES.filter((s) => results.roundTrips[s]);
  const requests = results.roundTrips[stores[0]!]?.map((r) => r.request) ?? [];
  const mark = (count: number, target: string) => {
    if (target === "0") return count === 0 ? "✓" : "✗";
    if (target === "1") return count <= 1 ? "✓" : "✗";
    if (target === "≤ 2") return count <= 2 ? "✓" : "✗ over";
    return "";
  };
  const rows = requests.map((request, i) => {
    const target = results.roundTrips[stores[0]!]![i]!.target;
    return [
      request,
      target,
      ...stores.map((s) => {
        const r = results.roundTrips[s]![i]!;
        return `**${r.storeCalls}** ${mark(r.storeCalls, target)} (${r.calls.join(", ") || "–"}); +${r.rateLimitHits} rl +${r.userQueries} uq = ${r.network} net`;
      }),
    ];
  });
  return [
    "## 3. Store round trips per request",
    "",
    "In-process, the real endpoints driven with plain Requests against the real backends, as lib/api/flows.test.ts does. **Bold** is the counting wrapper's figure (lib/session/counting.ts: session store calls plus the single-use records of the captcha and the proof of work, as the README counts them) with the calls in order. Then what the wrapper does not see: `rl` rate-limit hits (one backend command each), `uq` queries on the users table, and `net` everything that leaves the process (a cookie-store session call is a local seal/unseal, not a round trip).",
    "",
    table(["request", "target", ...stores.map((s) => STORE_TITLE[s])], rows, "llllll"),
  ].join("\n");
}

function captchaSection(results: Results): string {
  const c = results.captcha;
  const k = results.cookieSizes;
  const lines = ["## 4. Captcha generation and sealed cookie size", ""];
  if (c) {
    lines.push(
      table(
        ["measure", "captchas/s on one core", "p50 ms", "p99 ms", "mean SVG bytes"],
        [["`renderCaptcha(captchaText())`, this run's source", `**${rate(c.perSecond)}**`, ms(c.render.p50Ms), ms(c.render.p99Ms), Math.round(c.meanSvgBytes)]],
      ),
    );
  }
  if (results.captchaBench) {
    lines.push(
      "",
      `From bench/captcha.ts (the captcha renderer comparison, another engineer's; its own run, \`${results.captchaBench.file}\`, working-tree renderers):`,
      "",
      table(
        ["renderer", "captchas/s/core", "p50 ms", "mean bytes"],
        results.captchaBench.results.map((r) => [r.renderer, rate(r.perSecond), ms(r.p50Ms), Math.round(r.meanBytes)]),
      ),
    );
  }
  if (k) {
    lines.push(
      "",
      "Sealed cookie of the cookie store (iron seal), `name=value` as the browser sends it back; the limit is 4096:",
      "",
      table(
        ["session", "cookie bytes", "Set-Cookie header bytes"],
        [
          ["anonymous, with a pending captcha", `**${k.anonymousWithCaptcha.cookieBytes}**`, k.anonymousWithCaptcha.setCookieBytes],
          ["logged in, right after registration (keeps the used captcha's id)", `**${k.afterRegistration.cookieBytes}**`, k.afterRegistration.setCookieBytes],
          ["logged in by POST /api/login", `**${k.afterLogin.cookieBytes}**`, k.afterLogin.setCookieBytes],
        ],
      ),
    );
  }
  return lines.join("\n");
}

function scaleSection(results: Results): string {
  const s = results.scale;
  if (!s) return "## 5. Database scale\n\nSkipped.";
  const n = (v: number) => v.toLocaleString("en-US");
  return [
    "## 5. Database scale",
    "",
    `A benchmark database of its own (created, migrated, dropped). Rows inserted with \`INSERT … SELECT generate_series\` (${n(s.expiredRows)} expired rows in ${s.insertSeconds.toFixed(1)} s). Lookups are \`createDatabaseStore(db).read(token)\` one after another, random live tokens.`,
    "",
    table(
      ["rows in sessions", "lookup p50 ms", "p95 ms", "p99 ms", "lookups"],
      [
        [`${n(s.liveRows)} (live)`, ms(s.lookupSmall.p50Ms), ms(s.lookupSmall.p95Ms), ms(s.lookupSmall.p99Ms), s.lookupSmall.count],
        [`${n(s.liveRows + s.expiredRows)} (${n(s.liveRows)} live + ${n(s.expiredRows)} expired)`, ms(s.lookupLarge.p50Ms), ms(s.lookupLarge.p95Ms), ms(s.lookupLarge.p99Ms), s.lookupLarge.count],
        ["ratio (target: flat, ≈ 1×)", `**${ratio(s.p50Ratio)}**`, "", `**${ratio(s.p99Ratio)}**`, ""],
      ],
    ),
    "",
    `Plan of the lookup at ${n(s.liveRows + s.expiredRows)} rows (${s.indexScan ? "an index scan, not a sequential scan" : "**not an index scan**"}):`,
    "",
    "```",
    s.planLarge,
    "```",
    "",
    `Sweep: \`createDatabaseStore(db).sweepExpired()\` removed ${n(s.sweep.deleted)} expired rows in **${s.sweep.seconds.toFixed(1)} s** (${rate(s.sweep.rowsPerSecond)} rows/s) in ${s.sweep.statements} DELETE statements of at most ${s.sweep.batchSize} rows (counted on the client), while ${s.sweep.readers} concurrent readers on another client kept reading live sessions:`,
    "",
    table(
      ["session reads", "p50 ms", "p99 ms", "max ms", "reads"],
      [
        ["without a sweep (4 s)", ms(s.sweep.readsWithout.p50Ms), ms(s.sweep.readsWithout.p99Ms), ms(s.sweep.readsWithout.maxMs), s.sweep.readsWithout.count],
        ["during the sweep", ms(s.sweep.readsDuring.p50Ms), ms(s.sweep.readsDuring.p99Ms), ms(s.sweep.readsDuring.maxMs), s.sweep.readsDuring.count],
        ["ratio", "", `**${ratio(s.sweep.p99Ratio)}**`, "", ""],
      ],
    ),
  ].join("\n");
}

function baselineSection(results: Results): string {
  const rows = STORES.map((store) => {
    const next = results.endpoints.find((e) => e.store === store && e.server === "next");
    const node = results.endpoints.find((e) => e.store === store && e.server === "node");
    const floor = next?.captcha && next.ping ? next.captcha.perSecond / next.ping.perSecond : NaN;
    return [
      STORE_TITLE[store],
      perSecond(next?.ping),
      perSecond(next?.captcha),
      `**${Number.isNaN(floor) ? "–" : ratio(floor)}** ${Number.isNaN(floor) ? "" : floor >= 0.6 ? "✓" : "✗"}`,
      cpuRatio(next?.captcha, next?.ping),
      perSecond(node?.captcha),
      q(next?.captcha, node?.captcha),
      perSecond(next?.me),
      q(next?.me, next?.ping),
      perSecond(node?.me),
      q(next?.me, node?.me),
      perSecond(node?.ping),
    ];
  });
  const hello = results.endpoints.find((e) => e.server === "node" && e.hello)?.hello;
  const w = results.wrkHello;
  return [
    "## 6. Baselines: Next's floor and Node's limit",
    "",
    "Same load generator and concurrency for every figure here, each server hit on its own port (no proxy). *Next floor*: `/api/ping` on the built app. *Node's limit*: bench/node-server.ts, a bare node:http server converting IncomingMessage → web Request and calling the same `sessionRoute(() => services, endpoint)` with the same lib code. The target is captcha ÷ Next floor ≥ 0.6; *by server CPU/req* is the same ratio from the app's CPU time per request (ping's ÷ captcha's), which the machine's other load disturbs much less.",
    "",
    table(
      ["store", "Next ping req/s", "Next captcha req/s", "captcha ÷ Next floor", "same, by server CPU/req", "node captcha req/s", "captcha Next ÷ node", "Next me req/s", "me ÷ Next floor", "node me req/s", "me Next ÷ node", "node ping req/s"],
      rows,
    ),
    "",
    `Orientation: a bare node:http hello (no Request conversion) served ${hello ? `**${rate(hello.perSecond)} req/s** to this TS load generator (p50 ${p50(hello)} ms)` : "–"}${w ? ` and **${rate(w.requestsPerSecond)} req/s** to \`wrk -t1 -c${results.settings.concurrency}\` (p50 ${ms(w.p50Ms)} ms, p99 ${ms(w.p99Ms)} ms)` : ""}. The gap between the two is the TS generator's own ceiling; every other figure here is far below it.`,
  ].join("\n");
}

function profileSection(results: Results): string {
  const p = results.profile;
  if (!p) return "";
  return [
    `## Profile: ${STORE_TITLE[p.store]}, ${p.scenario} on ${p.server}`,
    "",
    `\`node --cpu-prof\`, ${rate(p.perSecond)}/s under the profiler; ${Math.round(p.summary.busyMs)} ms busy of ${Math.round(p.summary.totalMs)} ms sampled (the rest idle). Profile: \`${p.file}\`.`,
    "",
    table(["owner", "self time"], p.summary.byOwner.slice(0, 10).map((o) => [o.owner, `${o.percent}% (${Math.round(o.ms)} ms)`])),
    "",
    "Self time (only the measured window; start-up excluded). Native and node-internal frames name their nearest caller in a package or in our code:",
    "",
    table(
      ["self %", "function", "where", "owner", "called from"],
      p.summary.top.slice(0, 20).map((f) => [`${f.percent}%`, `\`${f.function}\``, f.location, f.owner, f.calledFrom ?? ""]),
      "rllll",
    ),
    "",
    "Our functions by inclusive time (each sample counted once per function on its stack; nested functions overlap):",
    "",
    table(["inclusive %", "function", "where"], p.summary.oursInclusive.slice(0, 15).map((f) => [`${f.percent}%`, `\`${f.function}\``, f.location]), "rll"),
  ].join("\n");
}

/** Grouped bars, flows/s per store and shape; hand-written SVG, no library. */
export function flowChart(results: Results): string {
  const shapes: FlowRow["shape"][] = ["next-1", "next-2", "node-1", "next-1-cost17"];
  const colors = ["#3b6fd8", "#79a3f0", "#7a8699", "#d8883b"];
  const stores = STORES.filter((s) => results.flows.some((f) => f.store === s));
  const max = Math.max(1, ...results.flows.map((f) => f.result.perSecond));
  const W = 800, H = 380, left = 60, top = 56, bottom = 60, right = 20;
  const plotH = H - top - bottom;
  const groupW = (W - left - right) / Math.max(1, stores.length);
  const barW = Math.min(36, (groupW - 24) / shapes.length);
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold">${esc(`Sign-up flows/s per store and shape${results.trial ? " — TRIAL run, busy machine" : ""}`)}</text>`,
    `<text x="${left}" y="40" fill="#555">${esc(`${results.date}, ${results.machine.cores} cores, Node ${results.machine.node}, ${results.settings.concurrency} virtual users; hash cost ${results.settings.passwordHashCost} except the orange bars (default, 19 MiB)`)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (max / 4) * i;
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${y(v)}" y2="${y(v)}" stroke="#e3e6ec"/>`, `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end" fill="#555">${rate(v)}</text>`);
  }
  stores.forEach((store, g) => {
    const x0 = left + g * groupW + (groupW - barW * shapes.length) / 2;
    shapes.forEach((shape, k) => {
      const row = results.flows.find((f) => f.store === store && f.shape === shape);
      if (!row) return;
      const v = row.result.perSecond;
      const x = x0 + k * barW;
      parts.push(
        `<rect x="${x + 2}" y="${y(v)}" width="${barW - 4}" height="${top + plotH - y(v)}" fill="${colors[k]}"><title>${esc(`${STORE_TITLE[store]}, ${SHAPE_TITLE[shape]}: ${rate(v)} flows/s`)}</title></rect>`,
        `<text x="${x + barW / 2}" y="${y(v) - 4}" text-anchor="middle" font-size="10">${rate(v)}</text>`,
      );
    });
    parts.push(`<text x="${left + g * groupW + groupW / 2}" y="${top + plotH + 18}" text-anchor="middle">${esc(STORE_TITLE[store])}</text>`);
  });
  shapes.forEach((shape, k) => {
    const x = left + k * 180;
    parts.push(`<rect x="${x}" y="${H - 22}" width="12" height="12" fill="${colors[k]}"/>`, `<text x="${x + 16}" y="${H - 12}" font-size="11">${esc(SHAPE_TITLE[shape].replace(" (bench/node-server.ts)", ""))}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

export interface GoalRow {
  goal: string;
  what: string;
  measured: string;
  target: string;
  /** undefined: not measured in this run. */
  met?: boolean;
}

const medianOf = (values: number[]) => {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const n = v.length;
  return n === 0 ? NaN : n % 2 ? v[(n - 1) / 2]! : (v[n / 2 - 1]! + v[n / 2]!) / 2;
};
const spread = (values: number[]) => (values.length ? `${ratio(Math.min(...values))}–${ratio(Math.max(...values))}` : "–");
const sum = (t: PeerTarget, f: (r: PeerTarget["runs"][number]) => number) => t.runs.reduce((n, r) => n + f(r), 0);
/** Median over the rounds of one endpoint's percentile, from the client's per-run summaries. */
const peerPct = (t: PeerTarget, endpoint: string, p: "p50" | "p99") => medianOf(t.runs.map((r) => r.latency[endpoint]?.[p] ?? NaN));

/** Every goal of issue 13 that this run measures, as a ratio from this run. */
export function goals(results: Results): GoalRow[] {
  const rows: GoalRow[] = [];
  const settings: [PeerComparison | undefined, string, number][] = [
    [results.peer?.find((c) => c.setting === "fast"), "1", 3],
    [results.peer?.find((c) => c.setting === "default"), "2", 10],
  ];
  for (const [c, goal, target] of settings) {
    if (!c) {
      rows.push({ goal, what: goal === "1" ? "sign-up flows/s ÷ Django's best, fast hash" : "sign-up flows/s ÷ Django's best, default hashes", measured: "–", target: `≥ ${target}×` });
      continue;
    }
    const best = djangoBest(c);
    for (const t of c.targets.filter((x) => x.side === "holdfast")) {
      const q = best ? t.medianPerSecond / best.medianPerSecond : NaN;
      const timeouts = sum(t, (r) => r.timeouts);
      const failed = sum(t, (r) => r.attempted - r.succeeded);
      rows.push({
        goal,
        what: `${t.title} flows/s ÷ ${best?.title ?? "Django"}, ${c.setting === "fast" ? "fast hash" : "default hashes"}`,
        measured: `${ratio(q)} (${rate(t.medianPerSecond)} ÷ ${best ? rate(best.medianPerSecond) : "–"} flows/s, medians of ${t.runs.length}; per round ${spread(pairedRatios(c, t))})${c.setting === "default" ? `, ${timeouts} timeouts, ${failed} failed of ${sum(t, (r) => r.attempted)}${results.hashFloor ? `; the hashes alone allow at most ${ratio(results.hashFloor.defaultRatio)}` : ""}` : ""}`,
        target: c.setting === "fast" ? `≥ ${target}×` : `≥ ${target}×, 0 timeouts`,
        met: Number.isFinite(q) ? q >= target && (c.setting === "fast" || timeouts === 0) : undefined,
      });
    }
  }
  for (const e of results.endpoints.filter((x) => x.server === "next")) {
    const title = STORE_TITLE[e.store];
    const captcha = e.captcha && e.ping ? e.captcha.perSecond / e.ping.perSecond : NaN;
    // However cheap the rest of the route, it draws one captcha (on the pool's thread, but on the same cores).
    const pingCpu = e.ping?.serverCpuMsPerIteration;
    const drawMs = results.captcha?.render.p50Ms;
    const ceiling = pingCpu !== undefined && drawMs !== undefined ? `; one drawing alone, ${ms(drawMs)} ms at p50, is ${ratio(drawMs / pingCpu)} ping's whole request` : "";
    rows.push({ goal: "3", what: `GET /api/captcha ÷ GET /api/ping req/s, ${title}, Next ×1`, measured: `${ratio(captcha)} (${perSecond(e.captcha)} ÷ ${perSecond(e.ping)}; by server CPU/req ${cpuRatio(e.captcha, e.ping)}${ceiling})`, target: "≥ 0.6×", met: Number.isFinite(captcha) ? captcha >= 0.6 : undefined });
  }
  for (const e of results.endpoints.filter((x) => x.server === "next")) {
    const title = STORE_TITLE[e.store];
    const me = e.me && e.ping ? e.me.perSecond / e.ping.perSecond : NaN;
    rows.push({ goal: "4", what: `GET /api/me ÷ GET /api/ping req/s, ${title}, Next ×1`, measured: `${ratio(me)} (${perSecond(e.me)} ÷ ${perSecond(e.ping)}; by server CPU/req ${cpuRatio(e.me, e.ping)})`, target: "≥ 0.9×", met: Number.isFinite(me) ? me >= 0.9 : undefined });
  }
  for (const c of results.peer ?? []) {
    for (const t of c.targets.filter((x) => x.side === "holdfast")) {
      const tail = registerTail(t);
      const q = medianOf(tail);
      rows.push({
        goal: "5",
        what: `register p99 ÷ p50, ${t.title}, 2 instances, ${c.concurrency} users, ${c.setting === "fast" ? "fast hash" : "default hash"} (peer's client)`,
        measured: `${ratio(q)} (p50 ${ms(peerPct(t, "register", "p50"))} ms, p99 ${ms(peerPct(t, "register", "p99"))} ms, medians of ${t.runs.length}; per round ${spread(tail)})`,
        target: "≤ 3×",
        met: Number.isFinite(q) ? q <= 3 : undefined,
      });
    }
  }
  for (const f of results.flows.filter((x) => x.shape === "next-2")) {
    const reg = f.result.endpoints["POST /api/register"];
    const q = reg && reg.p50Ms > 0 ? reg.p99Ms / reg.p50Ms : NaN;
    rows.push({
      goal: "5",
      what: `register p99 ÷ p50, Holdfast ${STORE_TITLE[f.store]}, Next ×2, ${f.result.concurrency} users, fast hash (bench/load.ts, with the proof of work)`,
      measured: `${ratio(q)} (p50 ${reg ? ms(reg.p50Ms) : "–"} ms, p99 ${reg ? ms(reg.p99Ms) : "–"} ms, ${reg?.count ?? 0} registrations)`,
      target: "≤ 3×",
      met: Number.isFinite(q) ? q <= 3 : undefined,
    });
  }
  return rows;
}

function goalsSection(results: Results): string {
  const rows = goals(results);
  if (!rows.length) return "";
  return [
    "## Goals of issue 13 (each a ratio from this run)",
    "",
    table(["goal", "what", "measured", "target", "verdict"], rows.map((g) => [g.goal, g.what, g.measured, g.target, g.met === undefined ? "not measured" : g.met ? "✓ met" : "✗ **not met**"]), "lll"),
  ].join("\n");
}

function peerSection(results: Results): string {
  if (!results.peer?.length) return "";
  const first = results.peer[0]!;
  const parts = [
    "## 0. Holdfast against the Django peer (same load client, one run, rounds alternating)",
    "",
    `Both sides are driven by the peer's own \`loadclient.mjs\` (${first.concurrency} virtual users, a fresh cookie jar per flow: GET /api/captcha → POST /api/register → GET /api/me; client timeout ${first.timeoutMs / 1000} s), one process of its own on the same 2 cores. Every target is started before the first round and stays up; each round runs every target once, the order reversed every other round. An untimed warm-up run per target first. Flows/s are succeeded flows ÷ the run's wall time, as the client reports them (\`succeeded_per_s\`); the table gives the median over the rounds, and *per round* the paired ratio against the best Django backend of that same round.`,
    "",
    "- **Django** (A): the peer's `serve.sh`, gunicorn with 4 sync workers, SQLite in WAL mode with SQLite's default `synchronous=FULL` (each commit reaches the disk, as each Postgres commit does on the Holdfast side), the captcha as a single-use row (`CAPTCHA_STORE=db`, the peer's default), a fresh database under /tmp, `CAPTCHA_TEST_MODE=1`. Two backends: `signed_cookies` and `db`.",
    "- **Holdfast** (B): the built app, 2 instances behind nginx (testing/cluster.ts), each store on the test stack (embedded Postgres, redis-server, the local Upstash REST server), `CAPTCHA_TEST_MODE=1`, `RATE_LIMIT_MULTIPLIER=1000000` (the peer has no rate limits), and `BENCHMARK=1 POW_OPTIONAL=1`: the peer's client knows no proof of work, so Holdfast accepts registrations without one; `POW_OPTIONAL` is refused unless `BENCHMARK=1` (lib/env.ts). What Holdfast does not do here is one GET /api/challenge and one ledger take per flow; section 1 measures the whole flow with the proof, through bench/load.ts.",
    "- *Server CPU ms/flow*: CPU time of the app's processes (gunicorn master and workers; the Node instances, nginx not counted) over the run ÷ succeeded flows.",
  ];
  for (const c of results.peer) {
    const best = djangoBest(c);
    const goal = c.setting === "fast" ? 3 : 10;
    parts.push(
      "",
      `### ${c.setting === "fast" ? "Fast hash on both sides" : "Each side's production default"}: ${c.flows} flows per target and round, ${c.rounds} rounds`,
      "",
      `Django: ${c.hash.django}. Holdfast: ${c.hash.holdfast}. Order of round 1: ${c.order.join(" → ")}. Target: every Holdfast store ≥ ${goal}× ${best ? `${best.title} (Django's best here, ${rate(best.medianPerSecond)} flows/s)` : "Django's best"}${c.setting === "default" ? ", with 0 timeouts" : ""}.`,
      "",
      table(
        ["target", "shape", "flows/s (median)", "÷ Django's best", "per round", "flows/s per round", "ok / attempted", "timeouts", "other failures", "captcha p50 / p99 ms", "register p50 / p99 ms", "me p50 / p99 ms", "server CPU ms/flow"],
        c.targets.map((t) => {
          const q = best ? t.medianPerSecond / best.medianPerSecond : NaN;
          const fails: Record<string, number> = {};
          for (const r of t.runs) for (const [k, v] of Object.entries(r.failures)) if (k !== "timeout") fails[k] = (fails[k] ?? 0) + v;
          const lat = (e: string) => `${ms(peerPct(t, e, "p50"))} / ${ms(peerPct(t, e, "p99"))}`;
          return [
            t.title,
            t.shape,
            `**${rate(t.medianPerSecond)}**`,
            t.side === "holdfast" ? `**${ratio(q)}** ${q >= goal ? "✓" : "✗"}` : ratio(q),
            t.side === "holdfast" ? spread(pairedRatios(c, t)) : "",
            t.runs.map((r) => rate(r.perSecond)).join(", "),
            `${sum(t, (r) => r.succeeded)} / ${sum(t, (r) => r.attempted)}`,
            sum(t, (r) => r.timeouts),
            Object.entries(fails).map(([k, v]) => `${v} ${k}`).join(", ") || "–",
            lat("captcha"),
            lat("register"),
            lat("me"),
            ms(medianOf(t.runs.map((r) => r.serverCpuMsPerFlow ?? NaN))),
          ];
        }),
        "ll",
      ),
    );
    if (c.errors.length) parts.push("", "Errors:", "", ...c.errors.map((e) => `- ${e}`));
  }
  const f = results.hashFloor;
  if (f) {
    parts.push(
      "",
      `One password hash on each side, one at a time, in this run (bench/hash-floor.ts, medians of ${f.rounds} alternating rounds of ${f.hashesPerRound}): Django PBKDF2 **${ms(f.djangoPbkdf2Ms)} ms**, Holdfast Argon2id 19 MiB **${ms(f.holdfastDefaultMs)} ms**, so **${ratio(f.defaultRatio)}**: a sign-up hashes once on each side, and on the same cores Holdfast cannot be more times faster at the defaults than its hash is cheaper. Fast hashes: Django MD5 ${ms(f.djangoMd5Ms)} ms, Holdfast Argon2id 1 MiB ${ms(f.holdfastBenchMs)} ms.`,
    );
  }
  const floor = frameworkFloor(results);
  if (floor) {
    parts.push(
      "",
      `What a Next.js flow costs at the least, from this run's own figures: three requests at GET /api/ping's server CPU (${ms(floor.pingMs)} ms each, Next ×1, the median over stores), one captcha drawn (${ms(floor.drawMs)} ms, the p50 of section 4) and one fast hash (${ms(floor.hashMs)} ms): **${ms(floor.floorMs)} ms of server CPU per flow**, before any store, rate limit or ledger. Django's best at the fast hash spent **${ms(floor.djangoMs)} ms** per whole flow (${floor.djangoTitle}). By server CPU, then, Holdfast can be at most **${ratio(floor.djangoMs / floor.floorMs)}** Django's best here while it runs on Next, the drawing renderer and Argon2id; goal 1's 3× needs ${ms(floor.djangoMs / 3)} ms per flow.`,
    );
  }
  parts.push("", `Chart: \`${results.date}-peer.svg\`.`);
  return parts.join("\n");
}

/** The least server CPU a Holdfast flow can take (three trivial Next requests, a drawing, a fast hash), against Django's best flow at the fast hash. */
export function frameworkFloor(results: Results): { pingMs: number; drawMs: number; hashMs: number; floorMs: number; djangoMs: number; djangoTitle: string } | undefined {
  const fast = results.peer?.find((c) => c.setting === "fast");
  const best = fast && djangoBest(fast);
  const pingMs = medianOf(results.endpoints.filter((e) => e.server === "next").map((e) => e.ping?.serverCpuMsPerIteration ?? NaN).filter(Number.isFinite));
  const drawMs = results.captcha?.render.p50Ms ?? NaN;
  const hashMs = results.hashFloor?.holdfastBenchMs ?? NaN;
  const djangoMs = best ? medianOf(best.runs.map((r) => r.serverCpuMsPerFlow ?? NaN).filter(Number.isFinite)) : NaN;
  const floorMs = 3 * pingMs + drawMs + hashMs;
  if (!best || ![floorMs, djangoMs].every(Number.isFinite)) return undefined;
  return { pingMs, drawMs, hashMs, floorMs, djangoMs, djangoTitle: best.title };
}

/** Two panels (fast hash, default hashes): median flows/s per target, with Django's best and the goal as lines. */
export function peerChart(results: Results): string {
  const W = 960, H = 450, top = 70, bottom = 120, gap = 90, left = 50, right = 80;
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const panels = results.peer ?? [];
  const panelW = (W - left - right - gap * Math.max(0, panels.length - 1)) / Math.max(1, panels.length);
  const plotH = H - top - bottom;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold">${esc(`Sign-up flows/s, Holdfast against the Django peer${results.trial ? " — TRIAL run, busy machine" : ""}`)}</text>`,
    `<text x="${left}" y="40" fill="#555">${esc(`${results.date}, ${results.machine.cores} cores; the peer's loadclient.mjs, ${panels[0]?.concurrency ?? "?"} users; medians of the rounds; dashed: Django's best ×1 and × the goal`)}</text>`,
  ];
  panels.forEach((c, p) => {
    const x0 = left + p * (panelW + gap);
    const best = djangoBest(c);
    const goal = c.setting === "fast" ? 3 : 10;
    const max = Math.max(1, ...c.targets.map((t) => t.medianPerSecond).filter(Number.isFinite), (best?.medianPerSecond ?? 0) * goal) * 1.08;
    const y = (v: number) => top + plotH - (v / max) * plotH;
    parts.push(`<text x="${x0}" y="${top - 12}" font-weight="bold">${esc(c.setting === "fast" ? "Fast hash (Django MD5, Holdfast Argon2id 1 MiB)" : "Defaults (Django PBKDF2, Holdfast Argon2id 19 MiB)")}</text>`);
    for (let i = 0; i <= 4; i++) {
      const v = (max / 4) * i;
      parts.push(`<line x1="${x0}" x2="${x0 + panelW}" y1="${y(v)}" y2="${y(v)}" stroke="#e3e6ec"/>`, `<text x="${x0 - 4}" y="${y(v) + 4}" text-anchor="end" fill="#555" font-size="10">${rate(v)}</text>`);
    }
    const barW = Math.min(60, panelW / Math.max(1, c.targets.length));
    c.targets.forEach((t, k) => {
      const v = Number.isFinite(t.medianPerSecond) ? t.medianPerSecond : 0;
      const x = x0 + k * barW;
      const label = t.side === "django" ? t.title.replace("Django ", "Django\u00a0").replace(" (SQLite WAL)", " WAL") : t.title.replace("Holdfast ", "");
      parts.push(
        `<rect x="${x + 4}" y="${y(v)}" width="${barW - 8}" height="${top + plotH - y(v)}" fill="${t.side === "django" ? "#7a8699" : "#3b6fd8"}"><title>${esc(`${t.title}: ${rate(v)} flows/s`)}</title></rect>`,
        `<text x="${x + barW / 2}" y="${y(v) - 4}" text-anchor="middle" font-size="10">${rate(v)}</text>`,
        `<text transform="translate(${x + barW / 2},${top + plotH + 10}) rotate(35)" font-size="10">${esc(`${t.side === "django" ? "" : "Holdfast "}${label}`)}</text>`,
      );
    });
    if (best) {
      for (const [m, color] of [[1, "#555"], [goal, "#c0392b"]] as const) {
        const yy = y(best.medianPerSecond * m);
        parts.push(`<line x1="${x0}" x2="${x0 + panelW}" y1="${yy}" y2="${yy}" stroke="${color}" stroke-dasharray="5 4"/>`, `<text x="${x0 + panelW + 4}" y="${yy + 4}" fill="${color}" font-size="10">${m === 1 ? "Django's best" : `goal ${goal}×`}</text>`);
      }
    }
  });
  parts.push(`<rect x="${left}" y="${H - 18}" width="12" height="12" fill="#7a8699"/><text x="${left + 16}" y="${H - 8}" font-size="11">Django, gunicorn ×4 sync workers</text>`);
  parts.push(`<rect x="${left + 240}" y="${H - 18}" width="12" height="12" fill="#3b6fd8"/><text x="${left + 256}" y="${H - 8}" font-size="11">Holdfast, 2 instances behind nginx</text>`);
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

export function writeReport(results: Results, outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const base = path.join(outDir, results.date);
  const m = results.machine;
  const header = [
    `# Holdfast benchmark, ${results.date}${results.trial ? " — TRIAL RUN" : ""}`,
    "",
    ...(results.trial
      ? [
          "> **Trial run with small settings.** Durations are short and the numbers are noisy (the load average below says how busy the machine was): read them for shape and order of magnitude, not as a baseline.",
          "",
        ]
      : []),
    `- Machine: ${m.cores} cores, ${m.cpu} (/proc/cpuinfo), ${m.memoryGb} GB, Node ${m.node}; load average ${m.loadAverageAtStart.join(" / ")} at start, ${m.loadAverageAtEnd?.join(" / ") ?? "?"} at end.`,
    `- Command: \`${results.command}\`; measured source: ${results.source}. Took ${results.durationSeconds ?? "?"} s.`,
    `- Password hashing: **cost ${results.settings.passwordHashCost} (\`PASSWORD_HASH_COST=${results.settings.passwordHashCost}\` with \`BENCHMARK=1\`)** for every figure except the separate default-hash rows and section 0's default-hash comparison. \`RATE_LIMIT_MULTIPLIER=1000000\`, \`CAPTCHA_TEST_MODE=1\`, \`NODE_ENV=production\`.`,
    `- Load: bench/load.ts, a closed loop of ${results.settings.concurrency} virtual users in its own process (node:http, keep-alive); services from testing/stack.ts on a private embedded Postgres, a private redis-server and the local Upstash REST server.`,
    ...(results.errors.length ? ["", "**Errors during the run:**", "", ...results.errors.map((e) => `- ${e}`)] : []),
  ].join("\n");
  const md = [header, goalsSection(results), peerSection(results), flowSection(results), overheadSection(results), roundTripSection(results), captchaSection(results), scaleSection(results), baselineSection(results), profileSection(results)]
    .filter(Boolean)
    .join("\n\n");
  const files = [`${base}.md`, `${base}.json`, `${base}-flows.svg`, ...(results.peer?.length ? [`${base}-peer.svg`] : [])];
  writeFileSync(files[0]!, md + "\n");
  writeFileSync(files[1]!, JSON.stringify(results, null, 2) + "\n");
  writeFileSync(files[2]!, flowChart(results));
  if (files[3]) writeFileSync(files[3], peerChart(results));
  return files;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const [input, outDir] = process.argv.slice(2);
  if (!input) throw new Error("usage: tsx bench/report.ts <results.json> [outDir]");
  const results = JSON.parse(readFileSync(input, "utf8")) as Results;
  for (const file of writeReport(results, outDir ?? path.dirname(input))) console.log(`[report] wrote ${file}`);
}
