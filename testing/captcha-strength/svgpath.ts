/**
 * What a structure attacker sees of a captcha SVG without rasterising it: the <path> elements,
 * their attributes, and for each element or subpath its raw path-data signature.
 */

export interface PathElement {
  /** Attributes other than d, as written. */
  attrs: string;
  d: string;
}

/** A unit the attacker classifies: a whole <path> element or one subpath (M… up to the next M). */
export interface Unit {
  /** Command letters exactly as written, e.g. "MLLQLLQZ". */
  letters: string;
  /** Letters plus numbers. */
  tokens: number;
  /** Length of the path-data text. */
  len: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Attributes with colour values blanked: "fill=# " vs "fill=none stroke=# ". */
  style: string;
  /** Subpaths in the element this unit comes from. */
  nsub: number;
}

export function pathElements(svg: string): PathElement[] {
  const out: PathElement[] = [];
  for (const m of svg.matchAll(/<path\b([^>]*?)\/?>/g)) {
    const raw = m[1] ?? "";
    const d = /\bd="([^"]*)"/.exec(raw)?.[1] ?? "";
    out.push({ attrs: raw.replace(/\bd="[^"]*"/, "").trim(), d });
  }
  return out;
}

const ARGS: Record<string, number> = { m: 2, l: 2, h: 1, v: 1, c: 6, s: 4, q: 4, t: 2, a: 7, z: 0 };
const TOKEN = /([MmLlHhVvCcSsQqTtAaZz])|([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)/g;

function styleOf(attrs: string): string {
  return attrs
    .replace(/#[0-9a-fA-F]{3,8}|rgba?\([^)]*\)/g, "#")
    .replace(/\s+/g, " ")
    .trim();
}

/** Parses path data into per-subpath units (absolute bounding boxes, control points included). */
export function subpathUnits(el: PathElement): Unit[] {
  const style = styleOf(el.attrs);
  const units: Unit[] = [];
  let cur: Unit | undefined;
  let curStart = 0;
  let cmd = "";
  let args: number[] = [];
  let x = 0, y = 0, sx = 0, sy = 0;
  const grow = (px: number, py: number) => {
    if (!cur) return;
    if (px < cur.x0) cur.x0 = px;
    if (px > cur.x1) cur.x1 = px;
    if (py < cur.y0) cur.y0 = py;
    if (py > cur.y1) cur.y1 = py;
  };
  const finish = (end: number) => {
    if (cur) {
      cur.len = end - curStart;
      units.push(cur);
    }
    cur = undefined;
  };
  const apply = () => {
    const lower = cmd.toLowerCase();
    const rel = cmd === lower;
    const ox = rel ? x : 0, oy = rel ? y : 0;
    switch (lower) {
      case "m":
      case "l":
      case "t":
        x = ox + (args[0] as number);
        y = oy + (args[1] as number);
        if (lower === "m") {
          sx = x;
          sy = y;
        }
        break;
      case "h":
        x = ox + (args[0] as number);
        break;
      case "v":
        y = oy + (args[0] as number);
        break;
      case "c":
        grow(ox + (args[0] as number), oy + (args[1] as number));
        grow(ox + (args[2] as number), oy + (args[3] as number));
        x = ox + (args[4] as number);
        y = oy + (args[5] as number);
        break;
      case "s":
      case "q":
        grow(ox + (args[0] as number), oy + (args[1] as number));
        x = ox + (args[2] as number);
        y = oy + (args[3] as number);
        break;
      case "a":
        x = ox + (args[5] as number);
        y = oy + (args[6] as number);
        break;
    }
    grow(x, y);
    // After a moveto, further coordinate pairs are implicit linetos.
    if (lower === "m") cmd = rel ? "l" : "L";
    args = [];
  };
  for (const m of el.d.matchAll(TOKEN)) {
    const letter = m[1];
    if (letter) {
      if (letter === "M" || letter === "m") {
        finish(m.index);
        curStart = m.index;
        cur = { letters: "", tokens: 0, len: 0, x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity, style, nsub: 0 };
      }
      if (!cur) continue;
      cur.letters += letter;
      cur.tokens++;
      cmd = letter;
      args = [];
      if (letter === "Z" || letter === "z") {
        x = sx;
        y = sy;
      }
      continue;
    }
    if (!cur) continue;
    cur.tokens++;
    args.push(Number(m[2]));
    const need = ARGS[cmd.toLowerCase()] ?? 0;
    if (need > 0 && args.length === need) apply();
  }
  finish(el.d.length);
  for (const u of units) u.nsub = units.length;
  return units;
}

/** The whole element as one unit. */
export function elementUnit(el: PathElement, subs: Unit[] = subpathUnits(el)): Unit {
  const u: Unit = {
    letters: subs.map((s) => s.letters).join(""),
    tokens: subs.reduce((a, s) => a + s.tokens, 0),
    len: el.d.length,
    x0: Math.min(...subs.map((s) => s.x0)),
    y0: Math.min(...subs.map((s) => s.y0)),
    x1: Math.max(...subs.map((s) => s.x1)),
    y1: Math.max(...subs.map((s) => s.y1)),
    style: styleOf(el.attrs),
    nsub: subs.length,
  };
  return u;
}

/** Units at both granularities for a whole SVG. */
export function svgUnits(svg: string): { element: Unit[]; subpath: Unit[] } {
  const element: Unit[] = [];
  const subpath: Unit[] = [];
  for (const el of pathElements(svg)) {
    const subs = subpathUnits(el);
    if (!subs.length) continue;
    subpath.push(...subs);
    element.push(elementUnit(el, subs));
  }
  return { element, subpath };
}
