/**
 * SatMAE temporal (Cong et al. 2022) between the project and the run: which places of a project
 * have enough dates for a run's T (the rest named and left out), the run's recipe planned from
 * them (the year timestamps count from), and the run's training places as the series batch source
 * reads them; an image's timestamp as probes and embeddings read it.
 */
import { StudioError } from '../../contract';
import { Rng } from '../../mae/rng';
import type { ImageEntry } from '../../data/batches';
import type { PlaceSeries } from '../../data/series-batches';
import { detectSeries, imageDate, type SeriesDetection } from '../../data/series';
import type { Workspace } from '../../workspace';
import { DEFAULT_DOMAIN_RECIPE_OPTIONS, type DomainRecipeConfig } from './domain-recipes';

/** The series of a project's usable images (data/series.ts). */
export function projectSeries(workspace: Workspace, projectId: number): SeriesDetection {
  const rows = workspace.images.usable(projectId, 'path');
  return detectSeries(rows.map((row) => ({ id: row.id, path: row.path, dateTime: row.meta?.dateTime ?? null })));
}

/** How many places of a detection have at least `frames` dates, and the names of those with fewer. */
export function placesFor(detection: SeriesDetection, frames: number): { used: number; leftOut: string[] } {
  const used = detection.places.filter((place) => place.images.length >= frames);
  const leftOut = detection.places.filter((place) => place.images.length < frames).map((place) => place.name);
  return { used: used.length, leftOut };
}

/**
 * The run's temporal recipe: T (default 3) and the masking from the user, the first year of the
 * places used; throws `pretrain.dates: …` when no place has T dates, saying what the project has.
 */
export function planTemporalRecipe(
  options: { dates?: number; sameMask?: boolean },
  detection: SeriesDetection,
): Extract<DomainRecipeConfig, { name: 'satmae-temporal' }> {
  const frames = options.dates ?? DEFAULT_DOMAIN_RECIPE_OPTIONS.frames;
  const places = placesFor(detection, frames);
  if (places.used === 0) {
    const most = Math.max(0, ...detection.places.map((place) => place.images.length));
    throw new Error(
      detection.places.length === 0
        ? 'pretrain.dates: SatMAE temporal needs image series: one folder per place, two dated images or more ' +
            'in each (a date in the file name, like 2021-06-15, or a TIFF DateTime tag); this project has none'
        : `pretrain.dates: no place has ${frames} dates (the most a place has is ${most}); choose at most ${most}`,
    );
  }
  const years = detection.places
    .filter((place) => place.images.length >= frames)
    .flatMap((place) => place.images.map((image) => image.date.year));
  return {
    name: 'satmae-temporal',
    frames,
    sameMask: options.sameMask ?? DEFAULT_DOMAIN_RECIPE_OPTIONS.sameMask,
    baseYear: Math.min(...years),
    places,
  };
}

/**
 * Folders of the places a new run holds out for its validation loss: round(valFraction · P) of
 * the P places with `frames` dates (at least one, and two or more always train; none below three
 * places or at valFraction 0), drawn by the run's seed. Whole places, so the loss measures places
 * the encoder never saw, not other dates of places it trained on.
 */
export function heldOutPlaces(detection: SeriesDetection, frames: number, valFraction: number, seed: number): string[] {
  const used = detection.places.filter((place) => place.images.length >= frames).map((place) => place.folder);
  if (used.length < 3 || !(valFraction > 0)) return [];
  const count = Math.min(used.length - 2, Math.max(1, Math.round(used.length * valFraction)));
  return Rng.fromSeed(seed, 205).shuffle(used.sort()).slice(0, count).sort();
}

/**
 * The run's places among `imageIds` (entries in the order of `imageIds`) with at least T dates:
 * its training places, or with `heldOut` the places held out for validation. Throws NOT_FOUND or
 * INVALID_ARGUMENT naming what went missing since planning.
 */
export function trainingPlaces(
  workspace: Workspace,
  imageIds: readonly number[],
  entries: readonly ImageEntry[],
  recipe: Extract<DomainRecipeConfig, { name: 'satmae-temporal' }>,
  heldOut = false,
): PlaceSeries[] {
  const sources = workspace.images.sources(imageIds);
  const entryOf = new Map(imageIds.map((id, index) => [id, entries[index]!]));
  const detection = detectSeries(
    sources.map((row, index) => ({
      id: imageIds[index]!,
      path: row?.path ?? '',
      dateTime: row?.meta?.dateTime ?? null,
    })),
  );
  const held = new Set(recipe.heldOutPlaces ?? []);
  const places = detection.places
    .filter((place) => place.images.length >= recipe.frames && held.has(place.folder) === heldOut)
    .map((place) => ({
      place: place.name,
      frames: place.images.map((image) => ({
        entry: entryOf.get(image.id)!,
        timestamp: [image.date.year - recipe.baseYear, image.date.month - 1, image.date.hour] as [
          number,
          number,
          number,
        ],
      })),
    }));
  if (places.length === 0 && !heldOut) {
    throw new StudioError(
      'INVALID_ARGUMENT',
      `no place has ${recipe.frames} dated training images any more (images left the project or its split); ` +
        'start a new run',
    );
  }
  return places;
}

/**
 * An image's timestamp as a temporal run's encoder reads it — [years since the run's first year,
 * month − 1, hour] — from the date in its name or its TIFF DateTime tag, or why it has none.
 * Probes and embeddings read each image as a one-date series with this date's encoding.
 */
export function imageTimestamp(
  recipe: Extract<DomainRecipeConfig, { name: 'satmae-temporal' }>,
  image: { path: string; dateTime?: string | null },
): [number, number, number] | { reason: string } {
  const date = imageDate(image);
  if (!('year' in date)) return { reason: `${date.reason}: a SatMAE temporal encoder reads each image with its date` };
  return [date.year - recipe.baseYear, date.month - 1, date.hour];
}

/**
 * Throws UNSUPPORTED when `recipe` is SatMAE temporal: fine-tuning its encoder (`what`) is not
 * built yet (probes and embeddings read each image as a one-date series; the safetensors export
 * loads into SatMAE's own fine-tuning code).
 */
export function refuseTemporal(runId: number, recipe: DomainRecipeConfig | undefined, what: string): void {
  if (recipe?.name !== 'satmae-temporal') return;
  throw new StudioError(
    'UNSUPPORTED',
    `run ${runId} is a SatMAE (temporal) run: ${what} of its date-encoding encoder is not supported yet ` +
      '(probes and embeddings read each image as a one-date series; export --format safetensors loads into ' +
      "SatMAE's own fine-tuning code)",
  );
}
