/** Channel counts and the channel plan's conversions in words, for Curate, the New-run dialog and run recipes. */
import type { ChannelConversion } from '$contract';

/** `1 channel (grey)`, `3 channels (RGB)`, `13 channels`. */
export function channelCountName(channels: number): string {
  const kind = ['', 'grey', 'grey + alpha', 'RGB', 'RGBA or 4 bands'][channels];
  return `${channels} channel${channels === 1 ? '' : 's'}${kind ? ` (${kind})` : ''}`;
}

/** What a conversion does to `source`-channel images brought to `target` bands. */
export function conversionLabel(conversion: ChannelConversion, source: number, target: number): string {
  switch (conversion) {
    case 'keep':
      return 'used as they are';
    case 'repeat':
      return `grey repeated to ${target} bands${source === 2 ? ', alpha dropped' : ''}`;
    case 'luminance':
      return `to grey by luminance${source === 4 ? ', alpha dropped' : ''}`;
    case 'drop-alpha':
      return source === 4 ? 'alpha dropped (band 4)' : 'alpha dropped';
    case 'exclude':
      return 'left out of training';
  }
}

/**
 * `1 ch: grey repeated to 3 bands · 4 ch: alpha dropped (band 4)`; conversions in `skip` (counts
 * used as they are, by default) are not listed. The input count is the one kept as it is
 * (`fallbackTarget` when none is).
 */
export function conversionsSummary(
  conversions: Record<string, ChannelConversion>,
  fallbackTarget: number,
  skip: readonly ChannelConversion[] = ['keep'],
): string {
  const kept = Object.entries(conversions).find(([, conversion]) => conversion === 'keep');
  const target = kept ? Number(kept[0]) : fallbackTarget;
  return Object.entries(conversions)
    .filter(([, conversion]) => !skip.includes(conversion))
    .map(([source, conversion]) => `${source} ch: ${conversionLabel(conversion, Number(source), target)}`)
    .join(' · ');
}
