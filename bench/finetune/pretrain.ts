/**
 * The pretraining both fine-tuning benches start from (`bench:finetune`, `bench:finetune-sweep`):
 * each domain's recipe on ViT 192d×4 with the 128×2 decoder, val share 0.3, the floor lr rule,
 * planned and run through the studio's own pretraining path.
 */
import { planPretrain, type PretrainOptions } from '../../app/train/pretrain-plan';
import { executePretrain } from '../../app/train/pretrain-run';
import { Workspace } from '../../app/workspace';

/**
 * Each domain's pretraining recipe: digits — bench:recipe's default (norm-pix on, batch 8); medical —
 * the demo's (norm-pix off, batch 16); both @64 px, patch 16, for the studio's default length
 * (`DEFAULT_PRETRAIN.epochs` of the training images) unless the bench is given steps.
 */
export const FINETUNE_PRETRAIN_RECIPES: Record<string, Partial<PretrainOptions>> = {
  digits: { imgSize: 64, patchSize: 16, batchSize: 8 },
  medical: { imgSize: 64, patchSize: 16, batchSize: 16, normPixLoss: false },
};

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
      preset: 'vit-tiny',
      depth: 4,
      decoder: '128x2',
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
