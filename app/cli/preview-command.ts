/**
 * `preview-mask --3d`: the 3-D MAE's mask preview of one volume from the command line, through
 * the `volumes.previewMask` service the UI calls: the tokens seen and masked, in all and on each
 * of the three planes through the crop. With `--json` the planes' values come too (base64 float32).
 */
import path from 'node:path';
import {
  MASK_STRATEGIES,
  StudioError,
  type MaskStrategy,
  type StudioClient,
  type VolumeMaskPreview,
} from '../contract';
import { createOutput, parseCommand, positiveInt, required, UsageError } from './args';
import { withClient } from './client';

/** `16x16x16` (or `16×16×16`, `16,16,16`) as three positive integers, else a UsageError naming the flag. */
function size3d(name: string, value: string | undefined, min = 1): [number, number, number] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(/[x×,]/).map(Number);
  if (parts.length !== 3 || !parts.every((part) => Number.isInteger(part) && part >= min)) {
    const what = min === 0 ? 'non-negative' : 'positive';
    throw new UsageError(`preview-mask: --${name} must be three ${what} integers like 16x16x16, got "${value}"`);
  }
  return parts as [number, number, number];
}

function describe(preview: VolumeMaskPreview): string {
  return [
    `${preview.name}: crop ${preview.cropSize.join('×')} of ${preview.volumeSize.join('×')} ` +
      `(slices×rows×columns, ${preview.spacing.join(' × ')} mm voxels) at slice ${preview.origin[0] + 1}, ` +
      `row ${preview.origin[1] + 1}, column ${preview.origin[2] + 1}` +
      (preview.flipped.some(Boolean)
        ? `, mirrored along ${['slices', 'rows', 'columns'].filter((_, a) => preview.flipped[a]).join(' and ')}`
        : ''),
    `${preview.tokens} tokens (${preview.grid.join(' × ')} patches of ${preview.patchSize.join('×')}), ` +
      `${preview.strategy} masking at ${preview.maskRatio}, seed ${preview.seed}: ` +
      `${preview.visible} seen by the encoder, ${preview.masked} masked`,
    ...preview.planes.map(
      (plane) =>
        `  ${plane.name.padEnd(12)} at ${plane.index + 1} of ${plane.count}: ` +
        `${plane.patches} patches, ${plane.visible} seen, ${plane.masked} masked`,
    ),
  ].join('\n');
}

/** The grid tile of `file` in a project (a volume's middle slice), or a NOT_FOUND naming the file. */
async function imageOfFile(client: StudioClient, projectId: number, file: string): Promise<number> {
  const page = await client.images.list({ projectId, search: path.basename(file), limit: 2000 });
  const image = page.images.find((candidate) => path.resolve(candidate.path) === file);
  if (!image) throw new StudioError('NOT_FOUND', `preview-mask: ${file} is not an image of project ${projectId}`);
  return image.id;
}

/**
 * `mae-studio preview-mask --3d --workspace W (--image ID | --project ID --file PATH)
 * [--crop 64x64x64] [--patch 16x16x16] [--mask-ratio 0.75] [--mask random|block|noise] [--seed S]
 * [--at SLICE,ROW,COLUMN]`.
 */
export async function previewMaskCommand(argv: string[]): Promise<void> {
  const { values } = parseCommand('preview-mask', argv, {
    '3d': { type: 'boolean' },
    workspace: { type: 'string' },
    image: { type: 'string' },
    project: { type: 'string' },
    file: { type: 'string' },
    crop: { type: 'string' },
    patch: { type: 'string' },
    'mask-ratio': { type: 'string' },
    mask: { type: 'string' },
    seed: { type: 'string' },
    at: { type: 'string' },
  });
  if (!values['3d'])
    throw new UsageError('preview-mask: only --3d (a volume as the 3-D MAE sees it) is offered on the command line');
  const out = createOutput(values.json === true);
  const workspace = path.resolve(required('preview-mask', values, 'workspace'));
  const imageId = positiveInt('preview-mask', 'image', values.image);
  const projectId = positiveInt('preview-mask', 'project', values.project);
  if (imageId === undefined && (projectId === undefined || values.file === undefined))
    throw new UsageError('preview-mask: name the volume with --image ID, or with --project ID --file PATH');
  const strategy = values.mask ?? 'random';
  if (!(MASK_STRATEGIES as readonly string[]).includes(strategy))
    throw new UsageError(`preview-mask: --mask must be one of ${MASK_STRATEGIES.join(', ')}, got "${strategy}"`);
  const maskRatio = values['mask-ratio'] === undefined ? undefined : Number(values['mask-ratio']);
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  const cropSize = size3d('crop', values.crop);
  const patchSize = size3d('patch', values.patch);
  const at = size3d('at', values.at, 0);
  await withClient(workspace, {}, async ({ client }) => {
    const preview = await client.volumes.previewMask({
      imageId: imageId ?? (await imageOfFile(client, projectId!, path.resolve(values.file!))),
      strategy: strategy as MaskStrategy,
      ...(cropSize && { cropSize }),
      ...(patchSize && { patchSize }),
      ...(maskRatio !== undefined && { maskRatio }),
      ...(seed !== undefined && { seed }),
      ...(at && { at }),
    });
    out.result(preview, () => describe(preview));
  });
}
