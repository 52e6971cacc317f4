/**
 * The default model sized to the project: a run that leaves the image size, the encoder's blocks or
 * the decoder unset gets them from how many images it trains on and how large they are, instead of
 * the paper's ImageNet model. The new-run dialog starts from the same sizes (`studio-training.ts`),
 * the CLI and the demo plan through it, and the plan records the sentence that says why.
 *
 * Evidence (`npm run bench:finetune`, README "Fine-tuning against the raw pixels"): on scikit-learn's
 * 1 258 training digits, ViT-Tiny's full 12 blocks with the paper's 512×8 decoder, pretrained and
 * fine-tuned with the default recipe, lost to a linear model on the raw pixels (−7.6 points), while
 * 4 blocks with a 128×2 decoder beat them on both seeds. Upscaling small images adds no detail and
 * costs quadratically (8 px digits at 224 px: 196 tokens where 64 px gives 16).
 */
import { median } from '../data/median';
import { type DECODER_SIZES, ENCODER_SIZES } from '../mae/config';
import { DEFAULT_PRETRAIN } from './config';

/** Below this many training samples a run gets the compact model; from it, ViT-Tiny as the paper builds it. */
export const COMPACT_MODEL_BELOW = 10_000;

/** The compact model's encoder blocks and decoder (ViT-Tiny's width and heads, fewer blocks). */
export const COMPACT_MODEL = { depth: 4, decoder: '128x2' } as const satisfies {
  depth: number;
  decoder: keyof typeof DECODER_SIZES;
};

/** The largest default image side: the paper's 224 px. Larger images are resized down to it. */
export const MAX_DEFAULT_IMG_SIZE = 224;

/** The paper's model, which projects from `COMPACT_MODEL_BELOW` samples get: ViT-Tiny's blocks, the 512×8 decoder. */
const PAPER_MODEL = { depth: ENCODER_SIZES[DEFAULT_PRETRAIN.preset].depth, decoder: DEFAULT_PRETRAIN.decoder };

/** The smallest default grid: 4 × 4 patches, so 75% masking still leaves 4 visible. */
const MIN_GRID_SIDE = 4;

/** What the project looks like to the sizing rule. */
export interface ProjectShape {
  /** Training samples (images, or planes where volumes are cut into them). */
  trainSamples: number;
  /** The median shorter side of the images, in pixels. */
  imageSide: number;
}

/** The sized model. */
export interface ModelSizing {
  imgSize: number;
  depth: number;
  /** `<width>x<blocks>`, as the recipe writes it. */
  decoder: keyof typeof DECODER_SIZES;
}

/** The fields the rule sizes. */
export type SizedField = keyof ModelSizing;

/**
 * The default image size, encoder blocks and decoder for this project and patch: the images' own
 * side rounded up to whole patches, between 4 patches and 224 px; the compact model below
 * `COMPACT_MODEL_BELOW` training samples, the paper's ViT-Tiny and 512×8 decoder from it.
 */
export function sizeModel(project: ProjectShape, patchSize: number): ModelSizing {
  const largest = Math.max(patchSize, Math.floor(MAX_DEFAULT_IMG_SIZE / patchSize) * patchSize);
  const imgSize = Math.min(
    largest,
    Math.max(MIN_GRID_SIDE * patchSize, Math.ceil(project.imageSide / patchSize) * patchSize),
  );
  return { imgSize, ...(isCompact(project) ? COMPACT_MODEL : PAPER_MODEL) };
}

/** Whether the project is small enough for the compact model. */
function isCompact(project: ProjectShape): boolean {
  return project.trainSamples < COMPACT_MODEL_BELOW;
}

/** `128x2` as the sentences write it: 128×2. */
function decoderText(decoder: string): string {
  return decoder.replace('x', '×');
}

/**
 * Why the `sized` fields took their values, in one sentence: "Sized to this project (1,258 training
 * images of about 32 px): 64 px, 4 encoder blocks, decoder 128×2; …".
 */
export function sizingReason(project: ProjectShape, sizing: ModelSizing, sized: readonly SizedField[]): string {
  const values: string[] = [];
  const reasons: string[] = [];
  if (sized.includes('imgSize')) {
    values.push(`${sizing.imgSize} px`);
    reasons.push(`the images' own side in whole patches, at most ${MAX_DEFAULT_IMG_SIZE} px`);
  }
  if (sized.includes('depth')) values.push(`${sizing.depth} encoder blocks`);
  if (sized.includes('decoder')) values.push(`decoder ${decoderText(sizing.decoder)}`);
  const paper = `ViT-Tiny's ${PAPER_MODEL.depth} blocks and the paper's ${decoderText(PAPER_MODEL.decoder)} decoder`;
  if (sized.includes('depth') || sized.includes('decoder'))
    reasons.push(
      isCompact(project)
        ? `below ${COMPACT_MODEL_BELOW.toLocaleString('en-US')} images a ${COMPACT_MODEL.depth}-block encoder ` +
            `with a ${decoderText(COMPACT_MODEL.decoder)} decoder beat the raw pixels on real digits where ` +
            `${paper} lost (bench:finetune)`
        : `${paper}, as He et al. build it`,
    );
  const shape =
    `${project.trainSamples.toLocaleString('en-US')} training images of about ` + `${Math.round(project.imageSide)} px`;
  return `Sized to this project (${shape}): ${values.join(', ')}; ${reasons.join('; ')}.`;
}

/** The median of the images' shorter sides, in pixels (0 when there are none). */
export function medianShorterSide(images: readonly { width: number; height: number }[]): number {
  return median(images.map((image) => Math.min(image.width, image.height)));
}
