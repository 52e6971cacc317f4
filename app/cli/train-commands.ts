/** `pretrain` and `resume`: training runs, each in its own process, started through the `training` service. */
import {
  BACKEND_CHOICES,
  DOMAIN_RECIPES,
  ENCODER_CHOICES,
  FEATURE_TARGETS,
  LR_RULE_CHOICES,
  MASK_STRATEGIES,
  StudioError,
  type Recipe,
} from '../contract';
import { MAE_PRESETS } from '../mae/config';
import { domainRecipeSummary } from '../train/recipes/domain-recipes';
import { createOutput, parseCommand, positiveInt, required, UsageError } from './args';
import { withClient } from './client';
import { printingHost, untilEnd } from './run-output';
import { pretrain3d } from './volume-commands';

function number(command: string, name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed))
    throw new UsageError(`${command}: --${name} must be a number, got ${JSON.stringify(value)}`);
  return parsed;
}

/** `mae-studio pretrain --workspace W --project ID [recipe flags]` */
export async function pretrainCommand(argv: string[]): Promise<void> {
  const { values } = parseCommand('pretrain', argv, {
    workspace: { type: 'string' },
    project: { type: 'string' },
    preset: { type: 'string' },
    img: { type: 'string' },
    patch: { type: 'string' },
    decoder: { type: 'string' },
    depth: { type: 'string' },
    'mask-ratio': { type: 'string' },
    mask: { type: 'string' },
    batch: { type: 'string' },
    accum: { type: 'string' },
    steps: { type: 'string' },
    epochs: { type: 'string' },
    warmup: { type: 'string' },
    blr: { type: 'string' },
    'lr-rule': { type: 'string' },
    backend: { type: 'string' },
    seed: { type: 'string' },
    init: { type: 'string' },
    'val-fraction': { type: 'string' },
    'norm-pix': { type: 'string' },
    recipe: { type: 'string' },
    'blur-sigma': { type: 'string' },
    targets: { type: 'string' },
    'band-groups': { type: 'string' },
    'spatial-mask': { type: 'boolean' },
    'hard-share': { type: 'string' },
    dates: { type: 'string' },
    'same-mask': { type: 'boolean' },
    '3d': { type: 'boolean' },
    crop3d: { type: 'string' },
    patch3d: { type: 'string' },
    resample: { type: 'string' },
  });
  // The 3-D MAE on the project's volumes (volume-commands.ts).
  if (values['3d'] || values.crop3d !== undefined || values.patch3d !== undefined) return pretrain3d(values);
  const out = createOutput(values.json === true);
  const workspace = required('pretrain', values, 'workspace');
  const projectId = positiveInt('pretrain', 'project', required('pretrain', values, 'project'))!;
  if (values.mask !== undefined && !(MASK_STRATEGIES as readonly string[]).includes(values.mask)) {
    throw new UsageError(
      `pretrain: --mask must be one of ${MASK_STRATEGIES.join(', ')}, got ${JSON.stringify(values.mask)}`,
    );
  }
  if (values['norm-pix'] !== undefined && !['on', 'off'].includes(values['norm-pix'])) {
    throw new UsageError(`pretrain: --norm-pix must be on or off, got ${JSON.stringify(values['norm-pix'])}`);
  }
  if (values['lr-rule'] !== undefined && !(LR_RULE_CHOICES as readonly string[]).includes(values['lr-rule'])) {
    throw new UsageError(
      `pretrain: --lr-rule must be one of ${LR_RULE_CHOICES.join(', ')}, got ${JSON.stringify(values['lr-rule'])}`,
    );
  }
  if (values.backend !== undefined && !(BACKEND_CHOICES as readonly string[]).includes(values.backend)) {
    throw new UsageError(
      `pretrain: --backend must be one of ${BACKEND_CHOICES.join(', ')}, got ${JSON.stringify(values.backend)}`,
    );
  }
  if (values.recipe !== undefined && !(DOMAIN_RECIPES as readonly string[]).includes(values.recipe)) {
    throw new UsageError(
      `pretrain: --recipe must be one of ${DOMAIN_RECIPES.join(', ')}, got ${JSON.stringify(values.recipe)}`,
    );
  }
  const targets = values.targets?.split(',').map((target) => target.trim());
  const unknown = targets?.find((target) => !(FEATURE_TARGETS as readonly string[]).includes(target));
  if (unknown !== undefined)
    throw new UsageError(
      `pretrain: --targets takes a comma-separated list ` +
        `of ${FEATURE_TARGETS.join(', ')}, got ${JSON.stringify(unknown)}`,
    );
  const recipe: Recipe = {
    domainRecipe: values.recipe as Recipe['domainRecipe'],
    blurSigma: number('pretrain', 'blur-sigma', values['blur-sigma']),
    featureTargets: targets as Recipe['featureTargets'],
    // SatMAE: "B2,B3,B4,B8|B11,B12" (names or 0-based indices), the preset when absent.
    bandGroups: values['band-groups']?.split(/[|;]/).map((group) =>
      group
        .split(',')
        .map((band) => band.trim())
        .filter(Boolean)
        .map((band) => (/^\d+$/.test(band) ? Number(band) : band)),
    ),
    spatialMask: values['spatial-mask'],
    hardPatchShare: number('pretrain', 'hard-share', values['hard-share']),
    dates: positiveInt('pretrain', 'dates', values.dates),
    sameMask: values['same-mask'],
    imgSize: positiveInt('pretrain', 'img', values.img),
    patchSize: positiveInt('pretrain', 'patch', values.patch),
    decoder: values.decoder,
    depth: positiveInt('pretrain', 'depth', values.depth),
    maskRatio: number('pretrain', 'mask-ratio', values['mask-ratio']),
    maskStrategy: values.mask as Recipe['maskStrategy'],
    normPixLoss: values['norm-pix'] === undefined ? undefined : values['norm-pix'] === 'on',
    batchSize: positiveInt('pretrain', 'batch', values.batch),
    accumSteps: positiveInt('pretrain', 'accum', values.accum),
    steps: positiveInt('pretrain', 'steps', values.steps),
    epochs: positiveInt('pretrain', 'epochs', values.epochs),
    warmupSteps: values.warmup === undefined ? undefined : Number(values.warmup),
    lrRule: values['lr-rule'] as Recipe['lrRule'],
    blr: number('pretrain', 'blr', values.blr),
    backend: values.backend as Recipe['backend'],
    seed: values.seed === undefined ? undefined : Number(values.seed),
    init: values.init,
    valFraction: number('pretrain', 'val-fraction', values['val-fraction']),
    ...presetParts(values.preset, { patch: values.patch, decoder: values.decoder }),
  };
  await withClient(workspace, printingHost(out), async (session) => {
    const { client } = session;
    // What the dialog shows before Start: the plan's weights, channel decisions and learning rate.
    const check = await client.training.check(projectId, recipe);
    if (check.ok) {
      const { dataset } = await client.training.defaults(projectId);
      for (const line of check.init ?? []) out.progress(line, true);
      if (check.sizing) out.progress(`Model: ${check.sizing}`, true);
      // The channel plan's decision, said where a CLI user sees it (Curate shows it in the app).
      const converted = Object.entries(dataset.conversions).filter(
        ([, conversion]) => conversion !== 'keep' && conversion !== 'exclude',
      );
      if (converted.length)
        out.progress(
          `channel plan: ` +
            `${converted.map(([count, conversion]) => `${count}-channel images ${conversion}`).join(', ')}` +
            ` (to ${dataset.channels} band${dataset.channels === 1 ? '' : 's'})`,
          true,
        );
      for (const item of dataset.excluded) out.progress(`${item.count} left out: ${item.reason}`, true);
      if (dataset.excludedClasses.length)
        out.progress(`classes left out by the channel plan: ${dataset.excludedClasses.join(', ')}`, true);
      if (check.learningRate) out.progress(`Learning rate: ${check.learningRate}`, true);
      for (const warning of check.warnings ?? []) out.progress(`warning: ${warning}`, true);
    }
    // Start refuses what the dialog's Start refuses (memory, recipe rules), with the same message.
    const run = await client.training.start(projectId, recipe);
    const domain = run.recipe?.domainRecipe ?? domainRecipeSummary(undefined);
    out.progress(`Recipe: ${domain.label}, ${domain.details} (${domain.citation})`, true);
    out.progress(`Run ${run.id} planned; starting the training process…`, true);
    await untilEnd(session, run.id, out, workspace, check.ok ? (check.warnings ?? []) : []);
  });
}

/**
 * `--preset` as the dialog's fields: an encoder size as it is, a full preset name
 * (`maeVitTinyPatch8Dec128d2b`) as its size, patch and decoder, unless `--patch` / `--decoder` say otherwise.
 */
function presetParts(
  name: string | undefined,
  flags: { patch?: string; decoder?: string },
): Pick<Recipe, 'preset' | 'patchSize' | 'decoder'> {
  if (name === undefined || (ENCODER_CHOICES as readonly string[]).includes(name))
    return { preset: name as Recipe['preset'] };
  const parts = /^maeVit(Tiny|Small|Base)Patch(\d+)Dec(\d+)d(\d+)b$/.exec(name);
  if (!parts || !(name in MAE_PRESETS)) {
    throw new StudioError(
      'INVALID_ARGUMENT',
      `pretrain.preset must be one ` +
        `of ${[...ENCODER_CHOICES, ...Object.keys(MAE_PRESETS)].join(', ')}, got ${JSON.stringify(name)}`,
    );
  }
  return {
    preset: `vit-${parts[1]!.toLowerCase()}` as Recipe['preset'],
    ...(flags.patch === undefined && { patchSize: Number(parts[2]) }),
    ...(flags.decoder === undefined && { decoder: `${parts[3]}x${parts[4]}` }),
  };
}

/** `mae-studio resume --workspace W --run ID` */
export async function resumeCommand(argv: string[]): Promise<void> {
  const { values } = parseCommand('resume', argv, { workspace: { type: 'string' }, run: { type: 'string' } });
  const out = createOutput(values.json === true);
  const workspace = required('resume', values, 'workspace');
  const runId = positiveInt('resume', 'run', required('resume', values, 'run'))!;
  await withClient(workspace, printingHost(out), async (session) => {
    await session.client.training.resume(runId);
    await untilEnd(session, runId, out, workspace);
  });
}
