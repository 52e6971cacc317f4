/**
 * The pretraining both fine-tuning benches start from (`bench:finetune`, `bench:finetune-sweep`):
 * each domain's recipe on the model the studio sizes to the project when a user leaves it unset
 * (`model-sizing.ts`: the digits' 1 258 training images of 32 px get ViT 192d×4 with the 128×2
 * decoder @64 px, the CT slices' 280 of 96 px the same @96 px), val share 0.3, the floor lr rule,
 * planned and run through the studio's own pretraining path.
 */
import { planPretrain, type PretrainOptions } from '../../app/train/pretrain-plan';
import { executePretrain } from '../../app/train/pretrain-run';
import { Workspace } from '../../app/workspace';

/**
 * Each domain's pretraining recipe: digits — bench:recipe's default (norm-pix on, batch 8); medical —
 * the demo's (norm-pix off, batch 16); both patch 16, for the studio's default length
 * (`DEFAULT_PRETRAIN.epochs` of the training images) unless the bench is given steps.
 */
export const FINETUNE_PRETRAIN_RECIPES: Record<string, Partial<PretrainOptions>> = {
  digits: { patchSize: 16, batchSize: 8 },
  medical: { patchSize: 16, batchSize: 16, normPixLoss: false },
};

/** The model the benches measured before the default was sized to the project (bench:finetune-sweep keeps it). */
export const SMALL_VIT_64: Partial<PretrainOptions> = { preset: 'vit-tiny', imgSize: 64, depth: 4, decoder: '128x2' };

/**
 * Pretrains `domain`'s recipe (with `overrides` on top) on the prepared workspace with this seed and
 * returns the run's id; a run that does not complete is an error naming the domain and seed.
 */
export async function pretrainEncoder(
  target: { dir: string; projectId: number },
  domain: string,
  seed: number,
  overrides: Partial<PretrainOptions> = {},
): Promise<number> {
  const workspace = new Workspace(target.dir);
  let runId: number;
  try {
    runId = planPretrain(workspace, target.projectId, {
      seed,
      valFraction: 0.3,
      backend: 'native',
      ...FINETUNE_PRETRAIN_RECIPES[domain],
      ...overrides,
    }).runId;
  } finally {
    workspace.close();
  }
  const finished = await executePretrain(target.dir, runId, { log: () => {} });
  if (finished.status !== 'completed') throw new Error(`${domain} seed ${seed}: pretraining ${finished.status}`);
  return runId;
}
