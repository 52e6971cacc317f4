/**
 * Where the user is — project, tab and run — written in the address's fragment
 * (`#/project/3/training/run/12`), so a reload, a bookmark or back/forward return there. The
 * fragment never reaches serve mode's server and needs nothing from Electron's protocol.
 */

export const TABS = ['images', 'curation', 'training', 'evaluate', 'failures'] as const;
/** A project's tab. */
export type Tab = (typeof TABS)[number];

/** A place in the app. */
export interface Place {
  project: number | null;
  tab: Tab;
  /** The open run of the Training tab. */
  run: number | null;
}

const ID = /^[1-9]\d{0,14}$/;

/** Reads a place from a fragment; anything unreadable falls back to no project, Images. */
export function parsePlace(hash: string): Place {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const place: Place = { project: null, tab: 'images', run: null };
  if (parts[0] !== 'project' || !ID.test(parts[1] ?? '')) return place;
  place.project = Number(parts[1]);
  const tab = parts[2] as Tab | undefined;
  if (tab && (TABS as readonly string[]).includes(tab)) place.tab = tab;
  if (place.tab === 'training' && parts[3] === 'run' && ID.test(parts[4] ?? '')) place.run = Number(parts[4]);
  return place;
}

/** The fragment of a place (empty when no project is open). */
export function formatPlace(place: Place): string {
  if (place.project === null) return '';
  let hash = `#/project/${place.project}/${place.tab}`;
  if (place.tab === 'training' && place.run !== null) hash += `/run/${place.run}`;
  return hash;
}

/** Whether two places are the same. */
export function samePlace(a: Place, b: Place): boolean {
  return (
    a.project === b.project &&
    a.tab === b.tab &&
    (a.tab === 'training' ? a.run : null) === (b.tab === 'training' ? b.run : null)
  );
}
