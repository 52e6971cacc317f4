/**
 * The `exports` service of the contract over one workspace: exports run in-process (serialising
 * weights takes well under a second) and land in the project's exports folder unless the user
 * picks another.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { StudioImpl } from '../contract';
import type { Workspace } from '../workspace';
import { exportRun, FORMAT_FILES, previewModelCard } from './export-run';
import { volume3dExportPreview } from './export-run3d';
import { isVolume3dRun, typedRun } from '../train/run-records';
import type { ExportFormat } from './model-card';
import { modelCardMarkdown } from './model-card-markdown';

/** A folder for a new export that holds none of its files yet: `base`, `base-2`, `base-3`, … */
function freshDir(base: string, format: ExportFormat): string {
  const clashes = (dir: string) =>
    [...FORMAT_FILES[format], 'MODEL_CARD.md'].some((name) => fs.existsSync(path.join(dir, name)));
  let dir = base;
  for (let n = 2; clashes(dir); n++) dir = `${base}-${n}`;
  return dir;
}

/** The service, bound to the studio's workspace (read when called). */
export function exportServices(workspaceOf: () => Workspace): Pick<StudioImpl, 'exports'> {
  const defaultDir = (runId: number, format: ExportFormat) =>
    path.join(workspaceOf().projectDir(workspaceOf().runs.get(runId).projectId), 'exports', `run-${runId}-${format}`);

  return {
    exports: {
      list: (projectId) => {
        workspaceOf().projects.require(projectId);
        return workspaceOf().exports.list(projectId);
      },
      preview: async (runId, format, choices = {}) => {
        const full = choices.full === true;
        const planned = typedRun(workspaceOf().runs.get(runId));
        if (isVolume3dRun(planned)) {
          const preview = await volume3dExportPreview(workspaceOf(), planned, format);
          return { runId, format, defaultDir: freshDir(defaultDir(runId, format), format), ...preview };
        }
        const card = await previewModelCard(workspaceOf(), runId, format, { full });
        const classifier = card.model.classes !== null;
        const satmae = card.model.config.groupedBands !== undefined; // SatMAE: its own reference names
        const fullClass = satmae ? 'MaskedAutoencoderGroupChannelViT' : 'MaskedAutoencoderViT';
        const encoderClass = satmae ? "SatMAE's GroupChannelsVisionTransformer" : 'timm VisionTransformer';
        return {
          runId,
          format,
          defaultDir: freshDir(defaultDir(runId, format), format),
          files: [...FORMAT_FILES[format], 'MODEL_CARD.md', 'model_card.json'],
          contents: [
            full
              ? 'The whole MAE — encoder, decoder, mask token — under ' +
                `${satmae ? `SatMAE's ${fullClass}` : 'models_mae.py'} names ` +
                '(load_state_dict with strict=True)'
              : format === 'safetensors'
                ? `Encoder weights under ${encoderClass} names (no decoder, no mask token)`
                : 'Encoder graph: input pixels [N, C, H, W] float32 → tokens and pooled features',
            ...(classifier
              ? [`Classifier head: ${card.model.classes!.length} classes (${card.model.classes!.join(', ')})`]
              : []),
            ...(format === 'safetensors'
              ? [
                  `config.json: ` +
                    `${full ? `${fullClass} arguments` : 'architecture, image size, patch, channels'}, ` +
                    `normalisation`,
                ]
              : []),
            'Model card: data summary (counts and labels only), normalisation, recipe, losses, scores',
          ],
          modelCard: modelCardMarkdown(card),
        };
      },
      create: async (runId, format, dir, choices = {}) => {
        const target = dir ?? freshDir(defaultDir(runId, format), format);
        const result = await exportRun(workspaceOf(), runId, format, target, {
          full: choices.full === true,
          ...(choices.pooling && { pooling: choices.pooling }),
        });
        return {
          ...result.record,
          dir: result.dir,
          files: [
            ...result.files,
            ...['MODEL_CARD.md', 'model_card.json'].map((name) => ({
              name,
              bytes: fs.statSync(path.join(result.dir, name)).size,
            })),
          ],
        };
      },
    },
  };
}
