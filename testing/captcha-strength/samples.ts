/**
 * Writes sample captchas as PNG (and SVG) under artifacts/captcha/ for a human to look at:
 * `tsx lib/captcha/strength/samples.ts [count] [--baseline]`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { deflateSync } from "node:zlib";
import { Resvg } from "@resvg/resvg-js";
import { CAPTCHA_HEIGHT, CAPTCHA_WIDTH, renderCaptcha } from "../../lib/captcha/render";
import { captchaText } from "../../lib/captcha/text";
import { renderBaselineCaptcha } from "./baseline";
import { type Bitmap, CLEANINGS, cleanedBitmap } from "./ocr";

/** Minimal greyscale PNG encoder for the OCR attacker's cleaned bitmaps. */
function png(b: Bitmap): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const byte of buf) c = (crcTable[(c ^ byte) & 255] as number) ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(b.w, 0);
  ihdr.writeUInt32BE(b.h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const raw = Buffer.alloc((b.w + 1) * b.h, 255);
  for (let y = 0; y < b.h; y++) {
    raw[y * (b.w + 1)] = 0;
    for (let x = 0; x < b.w; x++) if (b.px[y * b.w + x]) raw[y * (b.w + 1) + 1 + x] = 0;
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

const args = process.argv.slice(2);
const count = Number(args.find((a) => /^\d+$/.test(a)) ?? 8);
const baseline = args.includes("--baseline");
const dir = "artifacts/captcha";
mkdirSync(dir, { recursive: true });
const answers: string[] = [];
const svgs: string[] = [];
for (let i = 0; i < count; i++) {
  const text = captchaText();
  const svg = baseline ? renderBaselineCaptcha(text) : renderCaptcha(text);
  const name = `${baseline ? "baseline" : "hardened"}-${String(i).padStart(2, "0")}`;
  writeFileSync(`${dir}/${name}.svg`, svg);
  for (const zoom of [1, 3]) {
    const png = new Resvg(svg, { fitTo: { mode: "zoom", value: zoom } }).render().asPng();
    writeFileSync(`${dir}/${name}@${zoom}x.png`, png);
  }
  svgs.push(svg);
  if (i < 2) {
    CLEANINGS.forEach((c, ci) => writeFileSync(`${dir}/${name}-ocr${ci}-${c.name.replace(/\W/g, "_")}.png`, png(cleanedBitmap(svg, c))));
  }
  answers.push(`${name} ${text} ${svg.length}B`);
}
// A contact sheet, two columns, so many samples can be looked at in one image.
const cols = 2, w = CAPTCHA_WIDTH, h = CAPTCHA_HEIGHT, pad = 6;
const rows = Math.ceil(svgs.length / cols);
const sheet =
  `<svg xmlns="http://www.w3.org/2000/svg" width="${cols * (w + pad) + pad}" height="${rows * (h + pad) + pad}">` +
  `<rect width="100%" height="100%" fill="#888"/>` +
  svgs.map((s, i) => s.replace("<svg ", `<svg x="${pad + (i % cols) * (w + pad)}" y="${pad + Math.floor(i / cols) * (h + pad)}" `)).join("") +
  `</svg>`;
for (const zoom of [1, 2]) {
  const png = new Resvg(sheet, { fitTo: { mode: "zoom", value: zoom } }).render().asPng();
  writeFileSync(`${dir}/${baseline ? "baseline" : "hardened"}-sheet@${zoom}x.png`, png);
}
writeFileSync(`${dir}/${baseline ? "baseline" : "hardened"}-answers.txt`, answers.join("\n") + "\n");
console.log(answers.join("\n"));
