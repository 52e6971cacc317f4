import { describe, expect, it } from 'vitest';
import { formatInterval, formatPercent, formatPoints, gainVerdict } from './score-format';

describe('score formats', () => {
  it('shows accuracies, intervals and signed points', () => {
    expect(formatPercent(0.7172)).toBe('71.7%');
    expect(formatInterval({ low: 0.6291, high: 0.79 })).toBe('62.9–79.0%');
    expect(formatPoints(0.1)).toBe('+10.0');
    expect(formatPoints(-0.004)).toBe('−0.4');
    expect(formatPoints(-0.0001)).toBe('+0.0');
  });

  it('calls a gain unclear when its interval includes 0', () => {
    expect(gainVerdict({ estimate: 0.1, low: 0.02, high: 0.18 })).toBe('better');
    expect(gainVerdict({ estimate: 0.03, low: -0.01, high: 0.07 })).toBe('unclear');
    expect(gainVerdict({ estimate: -0.1, low: -0.18, high: -0.02 })).toBe('worse');
  });
});
