/**
 * Scores a reading panel against the answers bench/panel/make.ts wrote.
 *
 *   npx tsx bench/panel/score.ts DIR/answers.json READER.json [READER.json …] [--json OUT]
 *
 * A reader file maps image ids to the text read on the first try: {"001": "acehm", …} (keys
 * may also be written "1" or "001.png"). A reading is compared the way the server compares a
 * submitted answer (normalizeAnswer: surrounding spaces and case do not matter); an image with
 * no reading counts as wrong. Prints, per reader and pooled over all readers:
 *
 * - whole-answer first-try accuracy, with a 95% Wilson interval;
 * - per-character accuracy: characters of the answer matched in a minimum-edit alignment with
 *   the reading (so one missed or extra character costs one, not the rest of the line);
 * - confusions from that alignment: "A→4" (A read as 4), "+X" (an extra X read, e.g. noise
 *   taken for a character), "-X" (an X missed), most frequent first, and the same substitutions
 *   as unordered look-alike pairs. A space inside a reading (the server does not drop it)
 *   shows as ␠.
 *
 * Exits 0 whatever the figures; 2 on bad input.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { normalizeAnswer } from "../../lib/captcha/text";

const TARGET = 0.95;

function usage(message: string): never {
  console.error(`${message}\nusage: npx tsx bench/panel/score.ts DIR/answers.json READER.json [READER.json …] [--json OUT]`);
  process.exit(2);
}

const args = process.argv.slice(2);
const ji = args.indexOf("--json");
const jsonOut = ji >= 0 ? (args[ji + 1] ?? usage("--json wants a file")) : undefined;
const files = ji < 0 ? args : args.filter((_, i) => i !== ji && i !== ji + 1);
if (files.length < 2) usage("need the answers file and at least one reader file");

function readMap(file: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    usage(`cannot read ${file}: ${String(err)}`);
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) usage(`${file} is not a JSON object of id → text`);
  return v as Record<string, unknown>;
}

const answersRaw = readMap(files[0] as string);
const ids = Object.keys(answersRaw).sort();
if (!ids.length) usage("the answers file is empty");
const width = Math.max(...ids.map((id) => id.length));
const answers = new Map(ids.map((id) => [id, normalizeAnswer(String(answersRaw[id]))]));

/** "1", "001", "001.png" → the answers file's id. */
function canonical(key: string): string {
  const k = key.trim().replace(/\.png$/i, "");
  return /^\d+$/.test(k) ? k.padStart(width, "0") : k;
}

interface Tally {
  name: string;
  n: number;
  answered: number;
  whole: number;
  chars: number;
  totalChars: number;
  confusions: Map<string, number>;
  wrong: string[];
}

const newTally = (name: string): Tally => ({
  name, n: 0, answered: 0, whole: 0, chars: 0, totalChars: 0, confusions: new Map(), wrong: [],
});

/** Minimum-edit alignment of truth against reading: matches, substitutions, insertions, deletions. */
function align(truth: string, read: string): { matches: number; ops: string[] } {
  // A space read inside the answer shows as ␠ in the confusions.
  const a = [...truth], b = [...read].map((ch) => (ch === " " ? "␠" : ch));
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[], up = d[i - 1] as number[];
      row[j] = Math.min((up[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1), (up[j] as number) + 1, (row[j - 1] as number) + 1);
    }
  }
  const ops: string[] = [];
  let matches = 0, i = a.length, j = b.length;
  while (i > 0 || j > 0) {
    const here = (d[i] as number[])[j] as number;
    if (i > 0 && j > 0 && here === ((d[i - 1] as number[])[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1)) {
      if (a[i - 1] === b[j - 1]) matches++;
      else ops.push(`${a[i - 1]}→${b[j - 1]}`);
      i--;
      j--;
    } else if (i > 0 && here === ((d[i - 1] as number[])[j] as number) + 1) {
      ops.push(`-${a[i - 1]}`);
      i--;
    } else {
      ops.push(`+${b[j - 1]}`);
      j--;
    }
  }
  return { matches, ops };
}

function score(t: Tally, id: string, truth: string, reading: string | undefined): void {
  t.n++;
  t.totalChars += [...truth].length;
  if (reading === undefined) {
    t.wrong.push(`${id}: ${truth} (no reading)`);
    return;
  }
  t.answered++;
  const read = normalizeAnswer(reading);
  if (read === truth) t.whole++;
  else t.wrong.push(`${id}: ${truth} read ${JSON.stringify(read)}`);
  const { matches, ops } = align(truth, read);
  t.chars += matches;
  for (const op of ops) t.confusions.set(op, (t.confusions.get(op) ?? 0) + 1);
}

/** 95% Wilson score interval for k successes in n. */
function wilson(k: number, n: number): [number, number] {
  if (!n) return [0, 1];
  const z = 1.96, p = k / n, z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const sorted = (m: Map<string, number>) => [...m].sort((p, q) => q[1] - p[1] || p[0].localeCompare(q[0]));

function pairs(m: Map<string, number>): [string, number][] {
  const out = new Map<string, number>();
  for (const [op, c] of m) {
    const sub = /^(.)→(.)$/u.exec(op);
    if (!sub) continue;
    const key = [sub[1], sub[2]].sort().join("/");
    out.set(key, (out.get(key) ?? 0) + c);
  }
  return sorted(out);
}

function report(t: Tally): void {
  const [lo, hi] = wilson(t.whole, t.n);
  console.log(`${t.name}`);
  console.log(`  whole answer, first try: ${t.whole}/${t.n} = ${pct(t.whole / t.n)} (95% CI ${pct(lo)}–${pct(hi)})` +
    (t.answered < t.n ? `; ${t.n - t.answered} not answered (counted wrong)` : ""));
  console.log(`  per character: ${t.chars}/${t.totalChars} = ${pct(t.chars / t.totalChars)}`);
  const conf = sorted(t.confusions);
  console.log(`  confusions: ${conf.length ? conf.map(([k, c]) => `${k} ×${c}`).join(", ") : "none"}`);
  const pr = pairs(t.confusions);
  if (pr.length) console.log(`  look-alike pairs: ${pr.map(([k, c]) => `${k} ×${c}`).join(", ")}`);
}

const readers: Tally[] = [];
const overall = newTally("overall (all readers pooled)");
const perItem = new Map<string, number>();
for (const file of files.slice(1)) {
  const raw = readMap(file);
  const readings = new Map<string, string>();
  for (const [k, v] of Object.entries(raw)) {
    const id = canonical(k);
    if (!answers.has(id)) {
      console.warn(`${file}: "${k}" is not an image in the answers file; ignored`);
      continue;
    }
    if (typeof v !== "string") usage(`${file}: "${k}" should map to a string`);
    readings.set(id, v);
  }
  const t = newTally(`reader ${basename(file).replace(/\.json$/i, "")} (${file})`);
  for (const id of ids) {
    const truth = answers.get(id) as string;
    score(t, id, truth, readings.get(id));
    score(overall, id, truth, readings.get(id));
    if (readings.has(id) && normalizeAnswer(readings.get(id) as string) === truth) perItem.set(id, (perItem.get(id) ?? 0) + 1);
  }
  readers.push(t);
}

console.log(`${ids.length} captchas, ${readers.length} reader(s); target ≥ ${pct(TARGET)} whole answers on the first try\n`);
for (const t of readers) {
  report(t);
  if (t.wrong.length) console.log(`  wrong: ${t.wrong.join("; ")}`);
  console.log("");
}
if (readers.length > 1) {
  report(overall);
  const missedByAll = ids.filter((id) => !perItem.get(id));
  if (missedByAll.length) console.log(`  read wrong by every reader: ${missedByAll.map((id) => `${id} (${answers.get(id)})`).join(", ")}`);
  console.log("");
}
const rate = overall.whole / overall.n;
console.log(`whole-answer first-try accuracy ${pct(rate)}: target ${rate >= TARGET ? "met" : "NOT met"}` +
  ` (lower 95% bound ${pct(wilson(overall.whole, overall.n)[0])})`);

if (jsonOut) {
  const plain = (t: Tally) => ({
    name: t.name, n: t.n, answered: t.answered, whole: t.whole, wholeRate: t.whole / t.n,
    wholeCi95: wilson(t.whole, t.n), chars: t.chars, totalChars: t.totalChars, charRate: t.chars / t.totalChars,
    confusions: Object.fromEntries(sorted(t.confusions)), pairs: Object.fromEntries(pairs(t.confusions)), wrong: t.wrong,
  });
  writeFileSync(jsonOut, JSON.stringify({ readers: readers.map(plain), overall: plain(overall), target: TARGET }, null, 2) + "\n");
}
