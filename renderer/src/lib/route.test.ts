import { describe, expect, it } from 'vitest';
import { formatPlace, parsePlace } from './route';

describe('place in the address', () => {
  it('round-trips project, tab and run', () => {
    const place = { project: 3, tab: 'training' as const, run: 12 };
    expect(formatPlace(place)).toBe('#/project/3/training/run/12');
    expect(parsePlace(formatPlace(place))).toEqual(place);
    expect(parsePlace('#/project/7/evaluate')).toEqual({ project: 7, tab: 'evaluate', run: null });
  });

  it('falls back to Images, or no project, on anything it cannot read', () => {
    expect(parsePlace('')).toEqual({ project: null, tab: 'images', run: null });
    expect(parsePlace('#/project/0/training')).toEqual({ project: null, tab: 'images', run: null });
    expect(parsePlace('#/project/4/settings/run/2')).toEqual({ project: 4, tab: 'images', run: null });
    expect(parsePlace('#/project/4/images/run/2')).toEqual({ project: 4, tab: 'images', run: null });
    expect(formatPlace({ project: null, tab: 'training', run: 1 })).toBe('');
  });
});
