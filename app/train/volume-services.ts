/**
 * The `volumes` service of the contract over one workspace: the 3-D mask preview of a stored
 * volume (`volume3d-preview.ts`). The last crop drawn is kept while its volume, size and seed
 * hold, so moving a plane's slider reads no voxel again.
 */
import type { StudioImpl } from '../contract';
import type { VolumeCrop } from '../data/volumes/volume-crops';
import { openStoredVolume } from '../data/volumes/stored-volume';
import type { VoxelGrid } from '../data/volumes/volume-planes';
import type { Workspace } from '../workspace';
import { checkPreview3d, previewCrop3d, previewVolume3d } from './volume3d-preview';

/** The `volumes` service, reading `workspace()` at each call. */
export function volumeServices(workspace: () => Workspace): Pick<StudioImpl, 'volumes'> {
  let kept: { grid: VoxelGrid; key: string; crop: VolumeCrop } | null = null;
  return {
    volumes: {
      previewMask: async (query) => {
        const images = workspace().images;
        const image = images.get(query.imageId);
        const [source] = images.sources([query.imageId]);
        const volume = await openStoredVolume({ ...source!, id: query.imageId }, (key) =>
          images.volumeSlices(image.projectId, key),
        );
        const [columns, rows, slices] = volume.grid.size;
        checkPreview3d([slices, rows, columns], query, volume.name);
        // The grid object stays the same while its file (or series) is unchanged.
        const key = JSON.stringify([query.cropSize, query.seed, volume.time]);
        if (kept?.grid !== volume.grid || kept.key !== key) {
          kept = { grid: volume.grid, key, crop: previewCrop3d(volume, query.cropSize, query.seed) };
        }
        return { imageId: query.imageId, ...previewVolume3d(volume, query, kept.crop) };
      },
    },
  };
}
