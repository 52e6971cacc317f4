/**
 * `npm run bench -- map [--points N]`: frame time of Curate's embedding map at 100 000 points
 * (default) in Debian's Chromium, headless, drawing with the renderer's own code (see
 * `e2e/map-frame.ts`). Prints medians over 30 frames; asserts nothing about the wall clock.
 */
import { chromium } from '@playwright/test';
import { measureMapFrames } from '../e2e/map-frame';

const flag = process.argv.indexOf('--points');
const points = flag === -1 ? 100_000 : Number(process.argv[flag + 1]);
if (!Number.isInteger(points) || points < 1)
  throw new Error(`--points must be a positive whole number, got ${process.argv[flag + 1]}`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.setContent('<!doctype html><html><body></body></html>');
  for (const count of [10_000, points]) {
    const times = await measureMapFrames(page, count);
    console.log(
      `${count.toLocaleString('en')} points: draw ${times.drawMs.toFixed(1)}` +
        ` ms, draw + raster ${times.drawAndRasterMs.toFixed(1)} ms, ` +
        `frame interval ${times.frameIntervalMs.toFixed(1)} ms (${(1000 / times.frameIntervalMs).toFixed(0)} ` +
        `fps), hover ${times.hoverMs.toFixed(2)} ms, ` +
        `box ${times.boxMs.toFixed(2)} ms (median of ${times.frames} frames)`,
    );
  }
} finally {
  await browser.close();
}
