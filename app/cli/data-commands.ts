/** `sample`, `init`, `import` and `images`: the data half of the CLI. */
import path from 'node:path';
import { DOMAINS, type Domain, type ImageSummary, type ImportProgress, type ImportResult } from '../contract';
import { writeSample } from '../data/synthetic/datasets';
import { writeSeriesSample } from '../data/synthetic/series';
import { createOutput, parseCommand, positiveInt, required, UsageError } from './args';
import { importAndWait, withClient } from './client';

const SAMPLE_DOMAINS = ['microscopy', 'remote-sensing', 'medical'] as const;

function domainOf(command: string, value: string | undefined, allowed: readonly string[]): string | undefined {
  if (value !== undefined && !allowed.includes(value)) {
    throw new UsageError(`${command}: --domain must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** `mae-studio sample <dir> [--domain D] [--count N] [--seed S] [--series PLACESxDATES]` */
export async function sampleCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand('sample', argv, {
    domain: { type: 'string' },
    count: { type: 'string' },
    seed: { type: 'string' },
    series: { type: 'string' },
  });
  const out = createOutput(values.json === true);
  const dir = positionals[0];
  if (!dir || positionals.length > 1)
    throw new UsageError('sample: give exactly one output folder, e.g. `mae-studio sample ./sample`');
  const domain = (domainOf('sample', values.domain, SAMPLE_DOMAINS) ?? 'microscopy') as (typeof SAMPLE_DOMAINS)[number];
  const count = positiveInt('sample', 'count', values.count);
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !Number.isSafeInteger(seed))
    throw new UsageError(`sample: --seed must be an integer, got ${values.seed}`);
  if (values.series !== undefined) {
    // Places seen at several dates (SatMAE temporal): one folder per place, files named by date.
    const match = /^(\d+)x(\d+)$/.exec(values.series);
    if (!match || values.domain !== undefined || values.count !== undefined)
      throw new UsageError(
        `sample: --series takes PLACESxDATES, e.g. 6x4, without --domain or --count; got ${values.series}`,
      );
    const series = await writeSeriesSample(path.resolve(dir), {
      places: Number(match[1]),
      dates: Number(match[2]),
      ...(seed !== undefined && { seed }),
    });
    out.result(
      { ...series, domain: 'remote-sensing' },
      () => `Wrote ${series.files} dated 4-band tiles of ${series.places.length} places to ${series.dir}`,
    );
    return;
  }
  const result = await writeSample(path.resolve(dir), { domain, count, seed });
  out.result(
    { ...result, domain },
    () => `Wrote ${result.files} ${domain} images (${result.labels.join(', ')}) to ${result.dir}`,
  );
}

/** `mae-studio init --workspace W --name NAME [--domain D]` */
export async function initCommand(argv: string[]): Promise<void> {
  const { values } = parseCommand('init', argv, {
    workspace: { type: 'string' },
    name: { type: 'string' },
    domain: { type: 'string' },
  });
  const out = createOutput(values.json === true);
  const workspace = required('init', values, 'workspace');
  const name = required('init', values, 'name');
  const domain = (domainOf('init', values.domain, DOMAINS) ?? 'general') as Domain;
  await withClient(workspace, {}, async ({ client }) => {
    const project = await client.projects.create({ name, domain });
    out.result(
      { project },
      () => `Created project ${project.id} "${project.name}" (${project.domain}) in ${path.resolve(workspace)}`,
    );
  });
}

/** `mae-studio import --workspace W --project ID [--workers N] <folder>...` */
export async function importCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand('import', argv, {
    workspace: { type: 'string' },
    project: { type: 'string' },
    workers: { type: 'string' },
  });
  const out = createOutput(values.json === true);
  const workspace = required('import', values, 'workspace');
  const projectId = positiveInt('import', 'project', required('import', values, 'project'))!;
  const workers = wholeNumber('import', 'workers', values.workers);
  if (positionals.length === 0) throw new UsageError('import: give at least one folder to import');
  await withClient(workspace, {}, async ({ client }) => {
    const result = await importAndWait(
      client,
      projectId,
      positionals.map((folder) => path.resolve(folder)),
      (progress) => out.progress(describeProgress(progress)),
      {
        ...(workers !== undefined && { workers }),
      },
    );
    const { importId: _id, ...printed } = result;
    out.result(printed, () => describeImport(result));
  });
}

/** Most import worker threads (the contract's limit too). */
const MAX_WORKERS = 256;

/** A flag that is a whole number, 0 allowed (`--workers 0`: no worker threads), or a UsageError. */
function wholeNumber(command: string, name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!/^\d+$/.test(value) || number > MAX_WORKERS) {
    throw new UsageError(
      `${command}: --${name} must be a whole number from 0 to ${MAX_WORKERS}, got ${JSON.stringify(value)}`,
    );
  }
  return number;
}

/** Skipped files listed one per line in the human summary; a re-import can skip thousands. */
const SKIPPED_LINES = 20;

/** The human summary of an import: counts that add up to the files seen, then every file left out and why. */
export function describeImport(result: ImportResult): string {
  const samples = result.samples === result.imported ? '' : ` (${result.samples} samples)`;
  const lines = [
    `${result.cancelled ? 'Cancelled after looking at' : 'Looked at'} ${result.filesSeen} ` +
      `files in ${result.seconds.toFixed(1)} s: ` +
      `${result.imported} imported${samples}, ${result.skipped} ` +
      `unchanged, ${result.duplicates.length} duplicates, ${result.errors.length} failed`,
    ...result.duplicates.map((d) => `  duplicate  ${d.path}  (same content as ${d.duplicateOf})`),
    ...result.skippedFiles.slice(0, SKIPPED_LINES).map((s) => `  skipped    ${s.path}: ${s.reason}`),
    ...(result.skippedFiles.length > SKIPPED_LINES
      ? [`  … and ${result.skippedFiles.length - SKIPPED_LINES} more skipped files (--json lists every one with why)`]
      : []),
    ...result.errors.map((e) => `  failed     ${e.path}: ${e.reason}`),
  ];
  return lines.join('\n');
}

function describeProgress(progress: ImportProgress): string {
  if (progress.phase === 'walking') return `Looking for images… ${progress.found} found`;
  const eta = progress.etaSeconds === null ? '' : `, ${Math.ceil(progress.etaSeconds)} s left`;
  return (
    `Importing ${progress.processed}/${progress.found}: ${progress.imported} new, ${progress.skipped} unchanged, ` +
    `${progress.duplicates} duplicates, ${progress.failed} ` +
    `failed (${Math.round(progress.filesPerSecond)} files/s${eta})`
  );
}

/** `mae-studio images --workspace W --project ID` (good and failed files alike) */
export async function imagesCommand(argv: string[]): Promise<void> {
  const { values } = parseCommand('images', argv, { workspace: { type: 'string' }, project: { type: 'string' } });
  const out = createOutput(values.json === true);
  const workspace = required('images', values, 'workspace');
  const projectId = positiveInt('images', 'project', required('images', values, 'project'))!;
  await withClient(workspace, {}, async ({ client }) => {
    const images: ImageSummary[] = [];
    for (let offset = 0; ; offset += 2000) {
      const page = await client.images.list({ projectId, offset, limit: 2000, sort: 'path', status: 'all' });
      images.push(...page.images);
      if (offset + page.images.length >= page.total) break;
    }
    const printed = images.map(({ path: file, sample, width, height, channels, bitDepth, format, label, error }) => ({
      path: file,
      sample: sample ?? null,
      width,
      height,
      channels,
      bitDepth,
      format,
      label,
      error,
    }));
    out.result(
      { images: printed },
      () =>
        printed
          .map((i) =>
            i.error
              ? `${i.path}  FAILED: ${i.error}`
              : `${i.path}${i.sample ? ` [${i.sample}]` : ''}  ${i.width}×${i.height} ` +
                ` ${i.channels} ch  ${i.bitDepth}-bit  ${i.format}  ${i.label ?? '(no label)'}`,
          )
          .join('\n') || '(no images)',
    );
  });
}
