/**
 * A built-in image series: places seen at several dates, for SatMAE's temporal recipe. One folder
 * per place (`place-01`, …), one 4-band 16-bit TIFF per date named by it (`2021-04-15.tif`), 64 px.
 * Each place is one land-cover tile (datasets.ts) that keeps its layout; the seasons change it —
 * vegetation's near-infrared and green rise in summer and fall in winter, water does not — plus
 * a little noise per date. The same seed writes the same bytes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../contract';
import { drawLandCover, encode16 } from './datasets';
import { imageSeed, Random } from './draw';

/** Options of {@link writeSeriesSample}. */
export interface SeriesSampleOptions {
  /** Places (folders); default 6. */
  places?: number;
  /** Dates per place; default 4. */
  dates?: number;
  /** PRNG seed; default 1. */
  seed?: number;
}

const COVERS = ['fields', 'forest', 'urban', 'water'] as const;
/** How strongly each cover's vegetation follows the seasons (0: not at all). */
const SEASONAL: Record<(typeof COVERS)[number], number> = { fields: 0.6, forest: 0.35, urban: 0.1, water: 0 };

/** Writes places × dates dated tiles under `dir`; returns what was written. Throws INVALID_ARGUMENT on bad counts. */
export async function writeSeriesSample(
  dir: string,
  options: SeriesSampleOptions = {},
): Promise<{ dir: string; files: number; places: string[] }> {
  const places = options.places ?? 6;
  const dates = options.dates ?? 4;
  for (const [name, value, max] of [
    ['places', places, 1000],
    ['dates', dates, 120],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || value > max)
      throw new StudioError(
        'INVALID_ARGUMENT',
        `series sample ${name} must be a whole number from 1 to ${max}, got ${value}`,
      );
  }
  const seed = options.seed ?? 1;
  const root = path.resolve(dir);
  const names: string[] = [];
  for (let place = 0; place < places; place++) {
    const name = `place-${String(place + 1).padStart(2, '0')}`;
    names.push(name);
    fs.mkdirSync(path.join(root, name), { recursive: true });
    const cover = COVERS[place % COVERS.length]!;
    const random = new Random(imageSeed(seed, place));
    const base = drawLandCover(cover, random);
    // Dates a season or so apart, starting in a year and month of the place's own.
    const start = { year: 2018 + random.integer(0, 3), month: random.integer(1, 12) };
    for (let date = 0; date < dates; date++) {
      const months = start.month - 1 + date * random.integer(2, 4);
      const year = start.year + Math.floor(months / 12);
      const month = (months % 12) + 1;
      const day = random.integer(1, 28);
      // Northern summer peaks in July: +1 then, −1 in January.
      const season = Math.cos(((month - 7) * 2 * Math.PI) / 12);
      const gain = [1, 1 + 0.3 * SEASONAL[cover] * season, 1, 1 + SEASONAL[cover] * season];
      const pixels = new Uint16Array(base.pixels.length);
      for (let index = 0; index < pixels.length; index++) {
        const value = base.pixels[index]! * gain[index % 4]! * (1 + 0.02 * random.gaussian());
        pixels[index] = Math.max(0, Math.min(65535, Math.round(value)));
      }
      const file = `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}.tif`;
      fs.writeFileSync(path.join(root, name, file), await encode16({ ...base, pixels }, 'tif'));
    }
  }
  return { dir: root, files: places * dates, places: names };
}
