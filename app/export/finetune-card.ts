/**
 * A fine-tuning run on the model card: the classifier's accuracy, and beside it what the run
 * measured it against on the same validation images — the same encoder fine-tuned from its random
 * initialisation alike, and the probe's linear model on the raw pixels —, with 95 % intervals, n,
 * the paired gains and the warnings, so the card never shows a score without its baselines.
 */
import type { AccuracyGain, FinetuneReport, Interval } from '../contract';
import { accuracyText, gainText } from '../train/probe-format';

/** One fine-tuning run on the card; baselines, gains and warnings are null / empty for runs stored before them. */
export interface FinetuneScore {
  runId: number;
  accuracy: number;
  interval: Interval | null;
  steps: number;
  valImages: number;
  randomInitAccuracy: number | null;
  randomInitInterval: Interval | null;
  rawPixelsAccuracy: number | null;
  rawPixelsInterval: Interval | null;
  /** The classifier before its first step, when its head started as the linear probe (LP-FT). */
  startAccuracy: number | null;
  startInterval: Interval | null;
  /** Fine-tuned pretrained minus each baseline, paired bootstrap 95 % interval. */
  gain: { randomInit: AccuracyGain | null; rawPixels: AccuracyGain; start: AccuracyGain | null } | null;
  warnings: string[];
}

/** The card's entry of a fine-tuning run's report. */
export function finetuneScore(runId: number, report: FinetuneReport): FinetuneScore {
  return {
    runId,
    accuracy: report.scores.accuracy,
    interval: report.scores.interval ?? null,
    steps: report.steps,
    valImages: report.valImages,
    randomInitAccuracy: report.randomInit?.accuracy ?? null,
    randomInitInterval: report.randomInit?.interval ?? null,
    rawPixelsAccuracy: report.rawPixels?.accuracy ?? null,
    rawPixelsInterval: report.rawPixels?.interval ?? null,
    startAccuracy: report.start?.accuracy ?? null,
    startInterval: report.start?.interval ?? null,
    gain: report.gain
      ? {
          randomInit: report.gain.randomInit ?? null,
          rawPixels: report.gain.rawPixels,
          start: report.gain.start ?? null,
        }
      : null,
    warnings: report.warnings ?? [],
  };
}

/** A fine-tuning run's Markdown lines: its score and its baselines', then the gains and warnings. */
export function finetuneMarkdown(f: FinetuneScore): string[] {
  const scored = (accuracy: number, interval: Interval | null) =>
    accuracyText({ accuracy, ...(interval && { interval, images: f.valImages }), perClass: [], confusion: [] });
  const baselines = [
    ...(f.randomInitAccuracy === null
      ? []
      : [`random init fine-tuned alike ${scored(f.randomInitAccuracy, f.randomInitInterval)}`]),
    ...(f.rawPixelsAccuracy === null ? [] : [`raw pixels, linear ${scored(f.rawPixelsAccuracy, f.rawPixelsInterval)}`]),
    ...(f.startAccuracy === null
      ? []
      : [`before fine-tuning (linear probe) ${scored(f.startAccuracy, f.startInterval)}`]),
  ];
  const gains = f.gain
    ? [
        ...(f.gain.randomInit ? [`gain over random init ${gainText(f.gain.randomInit)}`] : []),
        `over raw pixels ${gainText(f.gain.rawPixels)}`,
        ...(f.gain.start ? [`over its linear-probe start ${gainText(f.gain.start)}`] : []),
      ]
    : [];
  return [
    `- fine-tuned, ${f.steps} steps: **${scored(f.accuracy, f.interval)}**, ${f.valImages} images — run ${f.runId}` +
      (baselines.length ? `; ${baselines.join('; ')}` : ''),
    ...(gains.length ? [`  - ${gains.join('; ')} (paired bootstrap on the same images)`] : []),
    ...f.warnings.map((warning) => `  - ⚠ ${warning}`),
  ];
}
