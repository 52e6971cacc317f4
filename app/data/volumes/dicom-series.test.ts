/**
 * DICOM series → volumes: frames sorted along the slice normal whatever order the files come in,
 * spacing from the positions, gaps, duplicates and mixed orientations reported per series; and
 * through a real import: one grid tile per volume, the split never parting a volume.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DicomPlane } from '../../contract';
import { writeDicom } from '../formats/formats.fixtures';
import { temporaryFolder, temporaryWorkspace } from '../images.fixtures';
import { stratifiedSplit } from '../split';
import { assembleSeries, type SeriesFrame } from './dicom-series';

const AXIAL = [1, 0, 0, 0, 1, 0];

function frame(id: number, plane: Partial<DicomPlane>): SeriesFrame {
  return {
    id,
    path: `/ct/${id}.dcm`,
    width: 4,
    height: 4,
    pixelSpacing: [0.5, 0.7],
    plane: { series: 's1', frame: 0, orientation: AXIAL, ...plane },
  };
}

describe('assembleSeries', () => {
  it('sorts slices by position along the normal, with spacing, affine and axis codes', () => {
    const zs = [30, 0, 20, 10, 40];
    const { placements, reports } = assembleSeries(
      zs.map((z, id) => frame(id, { position: [-100, -120, z], instance: 5 - id })),
    );
    expect(zs.map((_, id) => placements.get(id)!.slice)).toEqual([3, 0, 2, 1, 4]);
    expect(reports).toEqual([{ volume: 's1', folder: '/ct', slices: 5, spacing: [0.7, 0.5, 10], problems: [] }]);
    expect(placements.get(1)).toMatchObject({
      key: 's1',
      group: 's1',
      slices: 5,
      orientation: 'LPS',
      affine: [
        [0.7, 0, 0, -100],
        [0, 0.5, 0, -120],
        [0, 0, 10, 0],
        [0, 0, 0, 1],
      ],
    });
  });

  it('sorts an oblique series along its own normal, not by z', () => {
    const c = Math.cos(0.3);
    const s = Math.sin(0.3);
    const orientation = [1, 0, 0, 0, c, s]; // columns tilted towards +z: the normal is (0, -s, c)
    const steps = [2, 0, 1];
    const { placements, reports } = assembleSeries(
      steps.map((step, id) => frame(id, { orientation, position: [0, -s * 3 * step, c * 3 * step] })),
    );
    expect(steps.map((_, id) => placements.get(id)!.slice)).toEqual([2, 0, 1]);
    expect(reports[0]!.spacing![2]).toBeCloseTo(3, 9);
  });

  it('reports missing and duplicate slices and mixed orientations per series', () => {
    const gap = [0, 2, 4, 10, 12].map((z, id) => frame(id, { position: [0, 0, z] })); // 6 and 8 missing
    const duplicate = [0, 2, 2, 4].map((z, id) => frame(10 + id, { series: 's2', position: [0, 0, z] }));
    const mixed = [0, 2, 4].map((z, id) =>
      frame(20 + id, { series: 's3', position: [0, 0, z], orientation: id === 1 ? [0, 1, 0, 0, 0, -1] : AXIAL }),
    );
    const { reports } = assembleSeries([...gap, ...duplicate, ...mixed]);
    expect(reports.map((report) => [report.volume, report.problems])).toEqual([
      ['s1', ['missing slices: about 2 (gaps at 4–10 mm; spacing 2 mm)']],
      ['s2', ['duplicate slices: 1 slice shares its position with another']],
      ['s3', ["mixed orientations: 1 of 3 slices are not at the series' main orientation"]],
    ]);
  });

  it('refuses to sort by a degenerate orientation and says why', () => {
    const { reports, placements } = assembleSeries(
      [0, 2, 4].map((z, id) => frame(id, { position: [0, 0, z], orientation: [1, 0, 0, 1, 0, 0], instance: 3 - id })),
    );
    expect(reports[0]!.problems).toEqual([
      'Image Orientation (Patient) 1\\0\\0\\1\\0\\0 is not two orthogonal ' +
        'unit vectors: ordered by instance number, spacing unknown',
    ]);
    expect([0, 1, 2].map((id) => placements.get(id)!.slice)).toEqual([2, 1, 0]);
  });

  it('orders by instance number when positions are missing, and leaves a one-frame series alone', () => {
    const { placements, reports } = assembleSeries([
      frame(1, { instance: 2 }),
      frame(2, { instance: 1 }),
      frame(3, { series: 'alone', position: [0, 0, 0] }),
    ]);
    expect([placements.get(1)!.slice, placements.get(2)!.slice]).toEqual([1, 0]);
    expect(placements.has(3)).toBe(false);
    expect(reports[0]!.problems).toEqual([]);
    expect(reports[0]!.spacing).toBeNull();
  });
});

describe('importing a DICOM series', () => {
  let data: ReturnType<typeof temporaryFolder>;
  let space: ReturnType<typeof temporaryWorkspace>;
  beforeEach(() => {
    data = temporaryFolder();
    space = temporaryWorkspace();
  });
  afterEach(() => {
    space.remove();
    data.remove();
  });

  function writeSeries(folder: string, series: string, zs: number[], patientId: string): void {
    zs.forEach((z, index) => {
      const values = Array.from({ length: 16 }, () => z * 10);
      const file = path.join(data.dir, folder, `img${String(index).padStart(3, '0')}.dcm`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      // Instance numbers run against the positions: only the positions may decide the order.
      fs.writeFileSync(
        file,
        writeDicom({
          rows: 4,
          columns: 4,
          bitsAllocated: 16,
          values,
          series,
          patientId,
          instance: 100 - index,
          position: [-50, -50, z],
          orientation: AXIAL,
        }),
      );
    });
  }

  it('makes an enhanced multi-frame file one volume, its frames placed by their functional groups', async () => {
    const zs = [5, -5, 0]; // frames stored out of position order
    const values = zs.flatMap((z) => Array.from({ length: 16 }, () => z + 100));
    const file = path.join(data.dir, 'mr', 'enhanced.dcm');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(
      file,
      writeDicom({
        rows: 4,
        columns: 4,
        frames: 3,
        bitsAllocated: 16,
        values,
        series: '1.2.840.99.3',
        functionalGroups: { orientation: AXIAL, positions: zs.map((z) => [0, 0, z]) },
      }),
    );
    const result = await space.importFolder(data.dir);
    expect(result.errors).toEqual([]);
    expect(result.volumes).toMatchObject([{ slices: 3, spacing: [0.5, 0.5, 5], problems: [] }]);
    const rows = space.workspace.images.samplesOf(space.projectId, file);
    expect(rows.map((row) => row.meta!.volume!.slice)).toEqual([2, 0, 1]);
    const page = space.workspace.images.list({
      projectId: space.projectId,
      offset: 0,
      limit: 50,
      sort: 'path',
      status: 'all',
    });
    expect(page.images.map((image) => [image.frame, image.sample])).toEqual([[2, '3 slices']]);
  });

  it('assembles files of one series into one volume: one tile, slices in position order, gaps reported', async () => {
    // Shuffled file order, 4 slices missing (14, 16, 18 and 22 mm); a second patient's whole series.
    writeSeries('a', '1.2.840.99.1', [12, 4, 0, 20, 8, 24, 2, 6, 10], 'P1');
    writeSeries('b', '1.2.840.99.2', [0, 3, 6, 9], 'P2');
    const result = await space.importFolder(data.dir);
    expect(result.errors).toEqual([]);
    expect(result.volumes!.map((volume) => [volume.folder, volume.slices, volume.spacing, volume.problems])).toEqual(
      expect.arrayContaining([
        [
          path.join(data.dir, 'a'),
          9,
          [0.5, 0.5, 2],
          ['missing slices: about 4 (gaps at 12–20 mm, 20–24 mm; spacing 2 mm)'],
        ],
        [path.join(data.dir, 'b'), 4, [0.5, 0.5, 3], []],
      ]),
    );
    const page = space.workspace.images.list({
      projectId: space.projectId,
      offset: 0,
      limit: 50,
      sort: 'path',
      status: 'all',
    });
    expect(page.total).toBe(2);
    // The grid's label chips count each volume once, as its tile.
    expect(space.workspace.images.labels(space.projectId)).toEqual([
      { label: 'a', count: 1 },
      { label: 'b', count: 1 },
    ]);
    const tileA = page.images.find((image) => image.path.includes(`${path.sep}a${path.sep}`))!;
    expect(tileA).toMatchObject({
      slices: 9,
      sample: '9 slices',
      volumeProblems: [expect.stringMatching(/^missing slices/)],
    });
    // The tile is the middle slice (index 4 of 9 in position order: z = 8).
    const middle = space.workspace.images.get(tileA.id);
    expect(middle.stats![0]!.mean).toBe(80);
    expect(JSON.stringify(space.workspace.images.usable(space.projectId, 'path'))).not.toMatch(/1\.2\.840\.99|P1|P2/);

    // Labelling or leaving out the tile reaches every slice of the volume.
    expect(space.workspace.curation.setExcluded(space.projectId, { imageIds: [tileA.id] }, true)).toBe(9);
    space.workspace.curation.setExcluded(space.projectId, { imageIds: [tileA.id] }, false);
    // One label for both (their folders differ), so that one of the two volumes goes to validation.
    const kept = space.workspace.curation.keptImages(space.projectId).map((item) => ({ ...item, label: null }));
    for (const seed of [1, 2, 3]) {
      const { train, val } = stratifiedSplit(kept, 0.5, seed);
      const trainGroups = new Set(train.map((item) => item.group));
      expect(val.filter((item) => trainGroups.has(item.group))).toEqual([]);
      expect(val.length === 9 || val.length === 4).toBe(true);
    }
  });
});
