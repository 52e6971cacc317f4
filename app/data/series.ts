/**
 * Image series by place: a project holds a time series when its images are grouped one folder
 * per place and each image says when it was taken — a date in its file name (2021-06-15,
 * 2021_06_15, 20210615, with an optional hour: 20210615T1030) or, failing that, a TIFF's
 * DateTime tag (306). SatMAE's temporal recipe (Cong et al. 2022) trains on several dates of
 * one place; this module finds the places and their dates, and says of every image left out why.
 */
import type { ImageSeriesSummary } from '../contract';

/** When an image was taken, as far as its name or tags say. */
export interface ImageDate {
  year: number;
  /** 1–12. */
  month: number;
  /** 1–31. */
  day: number;
  /** 0–23; 0 when only the day is known. */
  hour: number;
  /** Where it was read: the file name or the TIFF DateTime tag. */
  source: 'name' | 'tag';
}

/** An image as series detection needs it: its id, path and the TIFF DateTime stored at import. */
export interface SeriesImage {
  id: number;
  path: string;
  dateTime?: string | null;
}

/** One place: its folder and its dated images, oldest first. */
export interface Place {
  folder: string;
  /** The folder as shown: its path below the folders all places share. */
  name: string;
  images: { id: number; path: string; date: ImageDate }[];
}

/** Every place with two dates or more, and why each other image is in none. */
export interface SeriesDetection {
  places: Place[];
  /** Images that are in no place's series, with why. */
  left: { path: string; reason: string }[];
}

const NAME_DATE = /(?<!\d)(\d{4})([-_.]?)(\d{2})\2(\d{2})(?:[T_ -]?(\d{2})(?:[:-]?\d{2}){0,2})?(?!\d)/;
const TAG_DATE = /^(\d{4}):(\d{2}):(\d{2})(?: (\d{2}):\d{2}:\d{2})?/;

/** Whether y-m-d is a day of the calendar (years 1900–2199) and the hour 0–23. */
function isCalendarDate(year: number, month: number, day: number, hour: number): boolean {
  if (year < 1900 || year > 2199 || month < 1 || month > 12 || day < 1 || hour > 23) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** The last path part without its extension (both separators, so Windows paths read too). */
function baseName(path: string): string {
  const last = path.split(/[\\/]/).at(-1) ?? path;
  const dot = last.lastIndexOf('.');
  return dot > 0 ? last.slice(0, dot) : last;
}

/** The folder holding `path`. */
function folderOf(path: string): string {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return cut >= 0 ? path.slice(0, cut) : '';
}

/**
 * The date in a file name, or why there is none: the first run of 8 digits that reads as
 * YYYY MM DD (separated by -, _ or . or not at all), optionally followed by an hour.
 */
export function dateFromName(path: string): ImageDate | { reason: string } {
  const name = baseName(path);
  const match = NAME_DATE.exec(name);
  if (!match) return { reason: 'no date in the file name (looked for YYYY-MM-DD, YYYY_MM_DD or YYYYMMDD)' };
  const [year, month, day] = [Number(match[1]), Number(match[3]), Number(match[4])];
  const hour = match[5] === undefined ? 0 : Number(match[5]);
  if (!isCalendarDate(year, month, day, hour))
    return { reason: `"${match[0]}" in the file name is not a calendar date and hour` };
  return { year, month, day, hour, source: 'name' };
}

/** The date of a TIFF DateTime value ("YYYY:MM:DD HH:MM:SS"), or null when it does not read as one. */
export function dateFromTag(value: string): ImageDate | null {
  const match = TAG_DATE.exec(value.trim());
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const hour = match[4] === undefined ? 0 : Number(match[4]);
  return isCalendarDate(year, month, day, hour) ? { year, month, day, hour, source: 'tag' } : null;
}

/** An image's date: from its name first, then its DateTime tag; or why it has none. */
export function imageDate(image: Pick<SeriesImage, 'path' | 'dateTime'>): ImageDate | { reason: string } {
  const fromName = dateFromName(image.path);
  if ('year' in fromName) return fromName;
  if (image.dateTime) {
    const fromTag = dateFromTag(image.dateTime);
    if (fromTag) return fromTag;
    return { reason: `${fromName.reason}, and its DateTime tag "${image.dateTime}" is not YYYY:MM:DD HH:MM:SS` };
  }
  return { reason: `${fromName.reason} and no DateTime tag` };
}

/** A date as sortable text: "2021-06-15" (with " 10h" when the hour is known). */
export function formatImageDate(date: ImageDate): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  const day = `${date.year}-${pad(date.month)}-${pad(date.day)}`;
  return date.hour > 0 ? `${day} ${pad(date.hour)}h` : day;
}

/** Orders dates oldest first. */
function compareDates(a: ImageDate, b: ImageDate): number {
  return a.year - b.year || a.month - b.month || a.day - b.day || a.hour - b.hour;
}

/** The folders every path shares, ending in a separator ('' when none). */
function sharedFolder(folders: string[]): string {
  if (folders.length === 0) return '';
  const split = folders.map((folder) => folder.split(/[\\/]/));
  // One place alone is named by its own folder.
  const shared = split.length === 1 ? split[0]!.slice(0, -1) : [...split[0]!];
  for (const parts of split.slice(1)) {
    let length = 0;
    while (length < shared.length && parts[length] === shared[length]) length++;
    shared.length = length;
  }
  return shared.length > 0 ? `${shared.join('/')}/` : '';
}

/**
 * The places of a project's images: one folder per place, each image dated by its name or tag,
 * a place counted when it has two dated images or more. Every other image is in `left` with why
 * (no date; the only dated image of its folder).
 */
export function detectSeries(images: readonly SeriesImage[]): SeriesDetection {
  const left: SeriesDetection['left'] = [];
  const byFolder = new Map<string, Place['images']>();
  for (const image of images) {
    const date = imageDate(image);
    if (!('year' in date)) {
      left.push({ path: image.path, reason: date.reason });
      continue;
    }
    const folder = folderOf(image.path);
    const list = byFolder.get(folder) ?? [];
    list.push({ id: image.id, path: image.path, date });
    byFolder.set(folder, list);
  }
  const series = [...byFolder].filter(([, list]) => list.length >= 2);
  for (const [, list] of byFolder) {
    if (list.length === 1)
      left.push({
        path: list[0]!.path,
        reason: 'the only dated image in its folder (a place needs two dates or more)',
      });
  }
  const shared = sharedFolder(series.map(([folder]) => folder.replaceAll('\\', '/')));
  const places = series
    .map(([folder, list]) => ({
      folder,
      name: folder.replaceAll('\\', '/').slice(shared.length) || folder,
      images: list.sort((a, b) => compareDates(a.date, b.date) || a.path.localeCompare(b.path)),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return { places, left };
}

/** How many image paths a summary lists by name at most. */
export const SERIES_SUMMARY_LIMIT = 20;

/** A detection in the numbers and names the screens show. */
export function summarizeSeries(detection: SeriesDetection): ImageSeriesSummary {
  const counts = detection.places.map((place) => place.images.length);
  return {
    places: detection.places.length,
    datedImages: counts.reduce((sum, count) => sum + count, 0),
    datesPerPlace: counts.length > 0 ? { min: Math.min(...counts), max: Math.max(...counts) } : null,
    placeList: detection.places.slice(0, SERIES_SUMMARY_LIMIT).map((place) => ({
      name: place.name,
      dates: place.images.length,
      first: formatImageDate(place.images[0]!.date),
      last: formatImageDate(place.images.at(-1)!.date),
    })),
    left: detection.left.slice(0, SERIES_SUMMARY_LIMIT),
    leftCount: detection.left.length,
  };
}
