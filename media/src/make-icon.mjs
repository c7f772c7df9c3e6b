// Draws media/icon.png (128x128) without any dependency: a few filled shapes, 4x4 supersampled,
// written with node:zlib. Run: node media/src/make-icon.mjs
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const SIZE = 128;
const SS = 4;

const hex = (h, a = 1) => [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16), a];

const inEllipse = (cx, cy, rx, ry, rot = 0) => (x, y) => {
  const c = Math.cos(-rot), s = Math.sin(-rot);
  const dx = x - cx, dy = y - cy;
  const u = dx * c - dy * s, v = dx * s + dy * c;
  return (u * u) / (rx * rx) + (v * v) / (ry * ry) <= 1;
};
const inCircle = (cx, cy, r) => inEllipse(cx, cy, r, r);
const inPolygon = (pts) => (x, y) => {
  let inside = false;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [xi, yi] = pts[i], [xj, yj] = pts[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
};
const inRoundRect = (x0, y0, x1, y1, r) => (x, y) => {
  if (x < x0 || x > x1 || y < y0 || y > y1) return false;
  const cx = Math.min(Math.max(x, x0 + r), x1 - r), cy = Math.min(Math.max(y, y0 + r), y1 - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
};
/** A wavy band: between two sine curves, for the pool. */
const inWave = (yMid, amp, period, thick, x0, x1) => (x, y) => {
  if (x < x0 || x > x1) return false;
  const c = yMid + amp * Math.sin((x / period) * Math.PI * 2);
  return Math.abs(y - c) <= thick / 2;
};
const and = (a, b) => (x, y) => a(x, y) && b(x, y);

// Painter's order: each layer is [inside(x, y), color(x, y)].
const bg = inRoundRect(4, 4, 124, 124, 26);
const layers = [
  [bg, (x, y) => mix(hex('#1b4f82'), hex('#0f2740'), (x + y) / 256)],
  // pool
  [and(bg, inWave(100, 3, 24, 7, 14, 114)), () => hex('#5ec8f2')],
  [and(bg, inWave(111, 3, 24, 5, 22, 106)), () => hex('#3a9fd0')],
  // tail feathers
  [inPolygon([[30, 62], [16, 52], [20, 70]]), () => hex('#e9a23b')],
  // body and head
  [inEllipse(56, 68, 30, 22, -0.12), () => hex('#f6c453')],
  [inCircle(82, 46, 17), () => hex('#f6c453')],
  // wing
  [inEllipse(52, 70, 16, 10, 0.35), () => hex('#e9a23b')],
  // beak
  [inPolygon([[95, 40], [114, 48], [95, 54]]), () => hex('#f07f3c')],
  // eye
  [inCircle(86, 42, 4.2), () => hex('#0f2740')],
  [inCircle(87.3, 40.8, 1.4), () => hex('#ffffff')],
  // feet
  [inPolygon([[50, 86], [54, 86], [52, 94]]), () => hex('#f07f3c')],
  [inPolygon([[62, 86], [66, 86], [64, 94]]), () => hex('#f07f3c')],
];

function mix(a, b, t) {
  const k = Math.min(1, Math.max(0, t));
  return a.map((v, i) => v + (b[i] - v) * k);
}

const rgba = Buffer.alloc(SIZE * SIZE * 4);
for (let py = 0; py < SIZE; py++) {
  for (let px = 0; px < SIZE; px++) {
    let r = 0, g = 0, b = 0, a = 0;
    for (let sy = 0; sy < SS; sy++) {
      for (let sx = 0; sx < SS; sx++) {
        const x = px + (sx + 0.5) / SS, y = py + (sy + 0.5) / SS;
        let c = [0, 0, 0, 0];
        for (const [inside, color] of layers) if (inside(x, y)) c = color(x, y);
        // premultiplied accumulation keeps the anti-aliased edge free of dark fringes
        r += c[0] * c[3]; g += c[1] * c[3]; b += c[2] * c[3]; a += c[3];
      }
    }
    const o = (py * SIZE + px) * 4;
    const n = SS * SS;
    rgba[o + 3] = Math.round((a / n) * 255);
    if (a > 0) {
      rgba[o] = Math.round(r / a);
      rgba[o + 1] = Math.round(g / a);
      rgba[o + 2] = Math.round(b / a);
    }
  }
}

function crc32(buf) {
  let c, crc = 0xffffffff;
  for (let i = 0; i < buf.length; i++) {
    c = (crc ^ buf[i]) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
const ihdr = Buffer.alloc(13);
ihdr.writeUInt32BE(SIZE, 0);
ihdr.writeUInt32BE(SIZE, 4);
ihdr[8] = 8; // bit depth
ihdr[9] = 6; // RGBA
const raw = Buffer.alloc((SIZE * 4 + 1) * SIZE);
for (let y = 0; y < SIZE; y++) {
  raw[y * (SIZE * 4 + 1)] = 0; // filter: none
  rgba.copy(raw, y * (SIZE * 4 + 1) + 1, y * SIZE * 4, (y + 1) * SIZE * 4);
}
const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', ihdr),
  chunk('IDAT', deflateSync(raw, { level: 9 })),
  chunk('IEND', Buffer.alloc(0)),
]);
const out = fileURLToPath(new URL('../icon.png', import.meta.url));
writeFileSync(out, png);
console.log(`wrote ${out} (${png.length} bytes)`);
