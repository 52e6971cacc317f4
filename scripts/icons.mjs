#!/usr/bin/env node
// Renders build/icon.svg into the icons electron-builder packs: build/icon.png (1024 px; it
// derives the macOS .icns from it), build/icons/<N>x<N>.png for Linux, and build/icon.ico
// (PNG-compressed entries, Windows Vista and later) for Windows. Run after editing the SVG; the
// outputs are committed.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = path.join(root, 'build');
const svg = fs.readFileSync(path.join(buildDir, 'icon.svg'));
const LINUX_SIZES = [16, 24, 32, 48, 64, 128, 256, 512, 1024];
const ICO_SIZES = [16, 24, 32, 48, 64, 128, 256];

/** The SVG (1024 px at its own density) scaled to a square PNG of `size` pixels. */
function render(size) {
  return sharp(svg).resize(size, size).png({ compressionLevel: 9 }).toBuffer();
}

/** An .ico holding one PNG per size: ICONDIR, one ICONDIRENTRY per image, then the images. */
function ico(images) {
  const header = Buffer.alloc(6 + 16 * images.length);
  header.writeUInt16LE(0, 0); // reserved
  header.writeUInt16LE(1, 2); // type: icon
  header.writeUInt16LE(images.length, 4);
  let offset = header.length;
  images.forEach(({ size, png }, index) => {
    const entry = 6 + 16 * index;
    header.writeUInt8(size >= 256 ? 0 : size, entry); // 0 means 256
    header.writeUInt8(size >= 256 ? 0 : size, entry + 1);
    header.writeUInt8(0, entry + 2); // no palette
    header.writeUInt8(0, entry + 3);
    header.writeUInt16LE(1, entry + 4); // colour planes
    header.writeUInt16LE(32, entry + 6); // bits per pixel
    header.writeUInt32LE(png.length, entry + 8);
    header.writeUInt32LE(offset, entry + 12);
    offset += png.length;
  });
  return Buffer.concat([header, ...images.map((image) => image.png)]);
}

fs.mkdirSync(path.join(buildDir, 'icons'), { recursive: true });
const rendered = new Map();
for (const size of new Set([...LINUX_SIZES, ...ICO_SIZES])) rendered.set(size, await render(size));
for (const size of LINUX_SIZES)
  fs.writeFileSync(path.join(buildDir, 'icons', `${size}x${size}.png`), rendered.get(size));
fs.writeFileSync(path.join(buildDir, 'icon.png'), rendered.get(1024));
fs.writeFileSync(path.join(buildDir, 'icon.ico'), ico(ICO_SIZES.map((size) => ({ size, png: rendered.get(size) }))));
console.log(
  `icons: build/icon.png, build/icon.ico (${ICO_SIZES.join(', ')} px), build/icons/ (${LINUX_SIZES.join(', ')} px)`,
);
