/**
 * Reads Prometheus' text exposition format into samples: the doctor needs only names, labels
 * and values, so comments, timestamps and unparseable lines are skipped, never thrown on.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[A-Za-z_:][A-Za-z0-9_:]*/;
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

function parseValue(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  return Number(text);
}

/** The labels between `{` and `}` from position `i`; where it stopped, or null when malformed. */
function parseLabels(line: string, i: number): { labels: Record<string, string>; end: number } | null {
  const labels: Record<string, string> = {};
  i++;
  for (;;) {
    while (line[i] === " " || line[i] === ",") i++;
    if (line[i] === "}") return { labels, end: i + 1 };
    const name = LABEL_NAME.exec(line.slice(i))?.[0];
    if (!name) return null;
    i += name.length;
    while (line[i] === " ") i++;
    if (line[i] !== "=" || line[i + 1] !== '"') return null;
    i += 2;
    let value = "";
    for (;;) {
      const c = line[i];
      if (c === undefined) return null;
      if (c === '"') break;
      if (c === "\\") {
        const next = line[i + 1];
        value += next === "n" ? "\n" : (next ?? "");
        i += 2;
      } else {
        value += c;
        i++;
      }
    }
    labels[name] = value;
    i++;
  }
}

export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const name = NAME.exec(line)?.[0];
    if (!name) continue;
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith("{")) {
      const parsed = parseLabels(rest, 0);
      if (!parsed) continue;
      labels = parsed.labels;
      rest = rest.slice(parsed.end);
    }
    const value = parseValue(rest.trim().split(/\s+/)[0] ?? "");
    if (!Number.isNaN(value)) samples.push({ name, labels, value });
  }
  return samples;
}
