#!/usr/bin/env node
/**
 * `mae-studio`: the command line over the studio's services. `--json` prints one JSON document
 * on stdout. Exit codes: 0 success, 1 a user error (the message on stderr names what was wrong),
 * 2 an internal error.
 */
import { StudioError } from './contract';
import { UsageError } from './cli/args';
import { imagesCommand, importCommand, initCommand, sampleCommand } from './cli/data-commands';
import { serveCommand } from './cli/serve-command';
import { pretrainCommand, resumeCommand } from './cli/train-commands';
import { demoCommand } from './cli/demo-command';
import { adoptCommand, handoffCommand } from './cli/handoff-commands';
import { exportCommand, finetuneCommand, probeCommand } from './cli/downstream-commands';
import { relabelCommand, reprobeCommand } from './cli/label-commands';
import { embedCommand } from './cli/embed-command';
import { previewMaskCommand } from './cli/preview-command';
import { VERSION } from './version';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<void>; usage: string }> = {
  sample: {
    run: sampleCommand,
    usage:
      'sample  <dir> [--domain microscopy|remote-sensing|medical] [--count N] [--seed S] ' +
      '[--series PLACESxDATES (dated tiles, one folder per place)]',
  },
  init: { run: initCommand, usage: 'init    --workspace W --name NAME [--domain D]' },
  import: { run: importCommand, usage: 'import  --workspace W --project ID [--workers N] <folder>...' },
  images: { run: imagesCommand, usage: 'images  --workspace W --project ID' },
  pretrain: {
    run: pretrainCommand,
    usage:
      'pretrain --workspace W --project ID [--preset vit-tiny] ' +
      '[--img 224] [--patch 16] [--decoder 512x8] [--depth N]\n' +
      '                      [--mask-ratio 0.75] [--mask random|block|noise] ' +
      '[--batch 8] [--accum 1] [--steps N | --epochs N]\n' +
      '                      [--lr-rule floor|sqrt|fixed|linear] [--blr 1.5e-4] [--warmup N] ' +
      '[--backend auto|tfjs-node-gpu|webgpu|tfjs-node|native|wasm|cpu] [--seed S] [--val-fraction 0.1]\n' +
      '                      [--init FILE (official MAE .pth, HF ViTMAE or timm safetensors)] ' +
      '[--recipe satmae-temporal --dates 3 --same-mask]\n' +
      '                      3-D MAE on volumes: --3d [--crop3d 32x64x64] [--patch3d 4x16x16] ' +
      '[--resample none|isotropic] [--mask random|block|noise] (slices x rows x columns; unset: suggested from ' +
      'the voxel spacing)',
  },
  resume: { run: resumeCommand, usage: 'resume  --workspace W --run ID' },
  handoff: {
    run: handoffCommand,
    usage: 'handoff --workspace W --run ID --out DIR     a torchrun (PyTorch DDP) job that continues the run',
  },
  adopt: {
    run: adoptCommand,
    usage: 'adopt   --workspace W --project ID DIR       bring a hand-off job back as a run',
  },
  probe: {
    run: probeCommand,
    usage:
      'probe   --workspace W --run ID [--method linear|knn] [--k N] ' +
      '[--pooling cls|mean] [--labels-per-class N] [--backend B]',
  },
  finetune: {
    run: finetuneCommand,
    usage:
      'finetune --workspace W --run ID [--steps N] [--batch N] [--blr 1e-2] [--warmup N] [--layer-decay 0.75]\n' +
      '                      [--drop-path 0] [--label-smoothing 0.1] [--pooling cls|mean] [--seed S]\n' +
      '                      [--crop-scale 1 (smallest crop area; 1 = whole images)] [--flip 0] [--lr-rule R]\n' +
      '                      [--backend B] [--random-init on|off (fine-tune the random init alike too; default on)]',
  },
  export: {
    run: exportCommand,
    usage:
      'export  --workspace W --run ID --format safetensors|onnx|tfjs --out DIR [--pooling cls|mean]\n' +
      "                      [--full (safetensors: the whole MAE in models_mae.py names; SatMAE runs: SatMAE's)]",
  },
  relabel: {
    run: relabelCommand,
    usage:
      'relabel --workspace W --project ID (--images 3,4,10-12 | --folder DIR) ' +
      '(--label NAME | --clear) | --undo | --history',
  },
  reprobe: {
    run: reprobeCommand,
    usage: "reprobe --workspace W --run PROBE_ID   re-fit a probe on the run's stored embeddings with today's labels",
  },
  embed: {
    run: embedCommand,
    usage:
      'embed   --workspace W --run ID --out DIR [--block N] [--pooling mean|cls]   per-image embeddings (.npy, .csv)',
  },
  'preview-mask': {
    run: previewMaskCommand,
    usage:
      'preview-mask --3d --workspace W (--image ID | --project ID --file PATH) [--crop 64x64x64] [--patch 16x16x16]\n' +
      '                      [--mask-ratio 0.75] [--mask random|block|noise] [--seed S] [--at SLICE,ROW,COLUMN]   ' +
      'a volume as the 3-D MAE sees it',
  },
  demo: {
    run: demoCommand,
    usage: 'demo    [--workspace W] [--steps N] [--domain medical|microscopy]   the whole journey on a built-in sample',
  },
  serve: { run: serveCommand, usage: 'serve   [--workspace W] [--port P] [--host 127.0.0.1] [--stable-token]' },
};

const USER_ERRORS = new Set([
  'INVALID_ARGUMENT',
  'NOT_FOUND',
  'CONFLICT',
  'UNSUPPORTED',
  'UNAUTHORIZED',
  'UNKNOWN_METHOD',
  'STORAGE',
]);

function usage(): string {
  return [
    `mae-studio ${VERSION}: pretrain Masked Autoencoders on your own images`,
    '',
    'Usage:',
    ...Object.values(COMMANDS).map((command) => `  mae-studio ${command.usage}`),
    '',
    'Every command takes --json to print one JSON document on stdout.',
  ].join('\n');
}

/** Runs one command line; resolves to the exit code. */
async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 1 : 0;
  }
  if (name === '--version') {
    process.stdout.write(VERSION + '\n');
    return 0;
  }
  const command = COMMANDS[name];
  try {
    if (!command) throw new UsageError(`unknown command "${name}"; run \`mae-studio --help\` for the list`);
    await command.run(rest);
    return 0;
  } catch (error) {
    if (error instanceof StudioError && (error instanceof UsageError || USER_ERRORS.has(error.code))) {
      process.stderr.write(`mae-studio: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(
      `mae-studio: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`mae-studio: internal error: ${String(error)}\n`);
    process.exitCode = 2;
  },
);
