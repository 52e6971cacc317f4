import { describe, expect, it } from 'vitest';
import { channelCountName, conversionLabel, conversionsSummary } from './channel-format';

describe('channel formats', () => {
  it('names channel counts as people know them', () => {
    expect([1, 2, 3, 4, 13].map(channelCountName)).toEqual([
      '1 channel (grey)',
      '2 channels (grey + alpha)',
      '3 channels (RGB)',
      '4 channels (RGBA or 4 bands)',
      '13 channels',
    ]);
  });

  it('says what each conversion does, alpha included', () => {
    expect(conversionLabel('repeat', 1, 3)).toBe('grey repeated to 3 bands');
    expect(conversionLabel('repeat', 2, 3)).toBe('grey repeated to 3 bands, alpha dropped');
    expect(conversionLabel('luminance', 4, 1)).toBe('to grey by luminance, alpha dropped');
    expect(conversionLabel('exclude', 13, 3)).toBe('left out of training');
  });

  it('summarises a run’s conversions against the count kept as it is', () => {
    expect(conversionsSummary({ 1: 'repeat', 3: 'keep', 4: 'exclude' }, 2)).toBe(
      '1 ch: grey repeated to 3 bands · 4 ch: left out of training',
    );
    expect(conversionsSummary({ 3: 'keep' }, 3)).toBe('');
    expect(conversionsSummary({ 1: 'exclude', 3: 'keep', 4: 'drop-alpha' }, 3, ['keep', 'exclude'])).toBe(
      '4 ch: alpha dropped (band 4)',
    );
  });
});
