/**
 * The model card in Markdown, for people: the model, the data (with how slides and volumes were
 * cut and what the channel plan converted), the input normalisation, the recipe, the loss and the
 * scores with their intervals. The card itself is built by `model-card.ts`.
 */
import type { ChannelConversion, Interval, SlideSampling, VolumeSampling } from '../contract';
import { describeRecipeLr } from '../train/config';
import { accuracyText, gainText } from '../train/probe-format';
import { finetuneMarkdown } from './finetune-card';
import type { ModelCard, ProbeScore } from './model-card';

/** How the encoder's input was cut from whole-slide images, as a user feeding it must reproduce it. */
function slideLine(slide: SlideSampling): string {
  const scale =
    slide.micronsPerPixel === null
      ? "at each slide's full resolution (level 0)"
      : `at ${slide.micronsPerPixel} µm per pixel (slides that do not state their scale: at level 0)`;
  const share = Math.round(slide.minTissue * 100);
  const tissue =
    slide.minTissue > 0
      ? `, drawn where the tissue mask (Otsu on saturation of the smallest level) covers at least ${share}% of it`
      : ', drawn anywhere on the slide';
  return (
    `Whole-slide images were read as random windows of the input size ${scale}${tissue}; ` +
    'feed the encoder windows at the same scale.'
  );
}

/** How the encoder's input was cut from volumes, as a user feeding it must reproduce it. */
function volumeLine(volume: VolumeSampling): string {
  const planes = volume.axis === 'all' ? 'axial, coronal and sagittal' : volume.axis;
  const slices = 2 * volume.neighbours + 1;
  const stacked =
    `; each sample is ${slices} neighbouring slices stacked as channels ` +
    `(slice − ${volume.neighbours} … slice + ${volume.neighbours}, repeated at the volume's ends), ` +
    'so feed the encoder the same.';
  const cut = `Volumes were cut into ${planes} planes, resampled to square pixels along the coarser in-plane axis`;
  return cut + (slices > 1 ? stacked : '.');
}

/**
 * The channel plan's conversions and left-out classes as Markdown lines (none when nothing was converted or left out).
 */
function conversionLines(conversions: Record<string, ChannelConversion>, excludedClasses: string[]): string[] {
  const target = Number(Object.entries(conversions).find(([, conversion]) => conversion === 'keep')?.[0] ?? 0);
  const words: Record<ChannelConversion, string> = {
    keep: 'as they are',
    repeat: 'grey band repeated',
    luminance: 'to grey by Rec. 601 luminance',
    'drop-alpha': 'alpha dropped',
    exclude: 'left out',
  };
  const converted = Object.entries(conversions).filter(([, conversion]) => conversion !== 'keep');
  const conversionList = converted
    .map(([source, conversion]) => `${source}-channel images ${words[conversion]}`)
    .join('; ');
  return [
    ...(converted.length
      ? ['', `Channel plan: ${target ? `${target}-channel images as they are; ` : ''}${conversionList}.`]
      : []),
    ...(excludedClasses.length
      ? ['', `Classes left out by the channel plan (never seen by the encoder): ${excludedClasses.join(', ')}.`]
      : []),
  ];
}

const fixed = (value: number | null, digits = 4) => (value === null ? '—' : value.toFixed(digits));

/** A probe's Markdown lines: the scores with their intervals, then its gains and warnings. */
export function probeMarkdown(p: ProbeScore): string[] {
  const scored = (accuracy: number, interval: Interval | null) =>
    accuracyText({ accuracy, ...(interval && { interval, images: p.valImages }), perClass: [], confusion: [] });
  const block =
    p.block === null ? '' : ` of block ${p.block}${p.blockChosenBy ? ` (chosen by ${p.blockChosenBy})` : ''}`;
  const baselines = [
    `random init ${scored(p.randomInitAccuracy, p.randomInitInterval)}`,
    ...(p.rawPixelsAccuracy === null ? [] : [`raw pixels ${scored(p.rawPixelsAccuracy, p.rawPixelsInterval)}`]),
  ];
  return [
    `- ${p.method === 'knn' ? `kNN (k = ${p.k})` : 'linear probe'} on ${p.pooling} features${block}, fitted on ` +
      `${p.trainImages} labelled images${p.labelsPerClass === null ? '' : ` (≤ ${p.labelsPerClass} per class)`}, ` +
      `${p.valImages} validation images — run ${p.runId}: ` +
      `**${scored(p.accuracy, p.interval)}**; ${baselines.join('; ')}`,
    ...(p.gain
      ? [
          `  - gain over random init ${gainText(p.gain.randomInit)}; over raw ` +
            `pixels ${gainText(p.gain.rawPixels)} (paired bootstrap on the same images)`,
        ]
      : []),
    ...p.warnings.map((warning) => `  - ⚠ ${warning}`),
  ];
}

/** What the pretraining loss compared: pixels for the paper's MAE, the recipe's targets otherwise. */
function lossTarget(card: ModelCard): string {
  const normalised = card.model.config.normPixLoss !== false;
  if (card.domainRecipe.name === 'fgmae')
    return normalised ? 'its targets normalised per patch' : 'its targets as they are';
  const pixels =
    card.domainRecipe.name === 'deblur'
      ? 'sharp pixels'
      : card.domainRecipe.name === 'camae'
        ? 'pixels of each self-standardised channel'
        : 'pixels';
  const ranking = card.domainRecipe.name === 'hpm' ? " plus the loss predictor's relative (ranking) objective" : '';
  return `${normalised ? `per-patch normalised ${pixels}` : pixels}${ranking}`;
}

/** The card as Markdown. */
export function modelCardMarkdown(card: ModelCard): string {
  const { dataset, losses, scores, recipe } = card;
  const lines = [
    `# ${card.title}`,
    '',
    `Exported by MAE Studio ${card.studioVersion} on ${card.createdAt}${card.format ? ` as **${card.format}**` : ''}.`,
    (card.domainRecipe.name === 'mae'
      ? 'A Masked Autoencoder (He et al. 2021) encoder pretrained on the data below'
      : `An encoder pretrained on the data below with ${card.domainRecipe.label} ` +
        `(${card.domainRecipe.citation.split(',')[0]}), a Masked Autoencoder (He et al. 2021) recipe`) +
      (card.run.kind === 'finetune' ? ', then fine-tuned as a classifier.' : '.'),
    '',
    '## Model',
    `- ${card.model.architecture}; ${card.model.encoderParameters.toLocaleString('en-US')} encoder parameters`,
    `- features: ${card.model.pooling === 'cls' ? 'the cls token' : 'mean of the patch tokens'} ` +
      `after the final LayerNorm`,
    ...(card.model.classes ? [`- classes: ${card.model.classes.join(', ')}`] : []),
    `- run ${card.run.id} (${card.run.kind}, ${card.run.status}, step ${card.run.step}) ` +
      `on ${card.run.backend ?? 'unknown backend'}`,
    '',
    '## Data',
    `Project "${dataset.project}" (${dataset.domain}): ${dataset.trainImages} ` +
      `training and ${dataset.valImages} validation images, ` +
      `${dataset.channels} channel${dataset.channels === 1 ? '' : 's'}, ${dataset.bitDepths.join('/')}-bit, ` +
      `${dataset.formats.join(', ')}. No file names or patient data are included.`,
    '',
    '| label | train | val |',
    '| --- | ---: | ---: |',
    ...dataset.labels.map((row) => `| ${row.label} | ${row.train} | ${row.val} |`),
    ...(dataset.relabelled
      ? [
          '',
          `${dataset.relabelled} of these images carry a label set by hand ` +
            `in the studio instead of their folder's; the counts above use it.`,
        ]
      : []),
    ...conversionLines(dataset.conversions, dataset.excludedClasses),
    ...(dataset.volume ? ['', volumeLine(dataset.volume)] : []),
    ...(dataset.slide ? ['', slideLine(dataset.slide)] : []),
    '',
    '## Input normalisation',
    `Pixels: ${card.normalisation.scaling}.`,
    `- mean: [${card.normalisation.mean.map((v) => v.toFixed(6)).join(', ')}]`,
    `- std: [${card.normalisation.std.map((v) => v.toFixed(6)).join(', ')}]`,
    '',
    '## Recipe',
    `${card.domainRecipe.label}: ${card.domainRecipe.details}. After ${card.domainRecipe.citation}.`,
    `Pretraining: mask ratio ${recipe.pretraining.maskRatio} (${recipe.pretraining.maskStrategy}), loss on ` +
      `${lossTarget(card)}, ${recipe.pretraining.totalSteps} steps of ` +
      `batch ${recipe.pretraining.batchSize}×${recipe.pretraining.accumSteps}, ` +
      `${describeRecipeLr(recipe.pretraining)}, warmup ${recipe.pretraining.warmupSteps}, ` +
      `weight decay ${recipe.pretraining.weightDecay}, seed ${recipe.pretraining.seed}.`,
    ...(recipe.finetuning
      ? [
          `Fine-tuning: ${recipe.finetuning.steps} steps of batch ${recipe.finetuning.batchSize}, ` +
            `base lr ${recipe.finetuning.blr}, layer decay ${recipe.finetuning.layerDecay}, ` +
            `drop path ${recipe.finetuning.dropPath}, label ` +
            `smoothing ${recipe.finetuning.labelSmoothing}, warmup ${recipe.finetuning.warmupSteps}, ` +
            // configs stored before the choice ran with the paper's crops (20–100%) and flips (0.5)
            `crops of ${(recipe.finetuning.cropScale ?? 0.2) * 100}–100%, ` +
            `flips ${recipe.finetuning.flipProbability ?? 0.5}` +
            `${recipe.finetuning.linearProbeInit ? ', head started from the linear probe (LP-FT)' : ''}.`,
        ]
      : []),
    '',
    '## Pretraining loss',
    `${losses.steps} steps: train loss ${fixed(losses.firstTrainLoss)} → ${fixed(losses.lastTrainLoss)}; ` +
      `validation loss best ${fixed(losses.bestValLoss)}, last ${fixed(losses.lastValLoss)}.`,
    '',
    '## Scores (validation split)',
    ...(scores.probes.length === 0 && scores.finetunes.length === 0 ? ['No probe or fine-tuning run yet.'] : []),
    ...scores.probes.flatMap(probeMarkdown),
    ...scores.finetunes.flatMap(finetuneMarkdown),
    '',
  ];
  if (card.files.length)
    lines.push(
      '## Files',
      ...card.files.map(
        (f) => `- \`${f.name}\` (${f.bytes.toLocaleString('en-US')} bytes, sha256 ${f.sha256.slice(0, 16)}…)`,
      ),
      '',
    );
  if (card.usage) lines.push('## Use', '', '```', card.usage, '```', '');
  return lines.join('\n');
}
