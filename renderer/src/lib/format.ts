/** Small formatters shared by the screens; all output is for people, never parsed back. */

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const twoDecimals = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** `20,000`, grouped for the user's locale. */
export function formatCount(value: number): string {
  return integer.format(value);
}

/** `1 channel`, `3 channels`, `1,200 images`: a count and its noun, plural unless the count is 1. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${integer.format(count)} ${count === 1 ? singular : pluralForm}`;
}

/** `3.4 MB`, in decimal units like the file manager shows. */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '—';
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${oneDecimal.format(value)} ${units[unit]}`;
}

/** `1 min 20 s`, or `—` while unknown. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  const rounded = Math.max(0, Math.round(seconds));
  if (rounded < 60) return `${rounded} s`;
  const minutes = Math.floor(rounded / 60);
  if (minutes < 60) return `${minutes} min ${rounded % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A per-channel statistic: integers stay integers, others get two decimals. */
export function formatStat(value: number): string {
  return Number.isInteger(value) ? integer.format(value) : twoDecimals.format(value);
}

/** `files/s` with one decimal below 10, whole numbers above. */
export function formatRate(perSecond: number): string {
  return perSecond < 10 ? oneDecimal.format(perSecond) : integer.format(perSecond);
}

/** The last segment of a path, for either separator. */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] || path;
}

/** Human label for a domain value. */
export function domainLabel(domain: string): string {
  switch (domain) {
    case 'remote-sensing':
      return 'Remote sensing';
    case 'microscopy':
      return 'Microscopy';
    case 'medical':
      return 'Medical';
    default:
      return 'General';
  }
}
