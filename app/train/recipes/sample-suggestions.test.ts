/**
 * The new-run dialog's preset for the many-channel samples, imported as a user would import such
 * files: 13 Sentinel-2 bands named in the GeoTIFF → SatMAE's grouped bands, found by name (whatever the
 * project's domain); 5 Cell
 * Painting stains → CA-MAE; each with why in one sentence.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeMultichannelSample, type MultichannelSampleKind } from '../../data/synthetic/multichannel';
import { Studio } from '../../studio';

let dir: string;
let studio: Studio;
const projects: Partial<Record<MultichannelSampleKind, number>> = {};
let unmarked: number;

/** Sentences of a text ("et al." does not end one). */
function sentences(text: string): string[] {
  return text.replaceAll('et al.', 'et al').trim().split(/\.\s/);
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-sample-suggestions-'));
  studio = new Studio(path.join(dir, 'ws'));
  for (const [kind, domain] of [
    ['sentinel-2', 'remote-sensing'],
    ['cell-painting', 'microscopy'],
  ] as const) {
    await writeMultichannelSample(path.join(dir, kind), { kind, count: 6 });
    projects[kind] = studio.workspace.projects.create(kind, domain).id;
    await studio.runImport(kind, projects[kind]!, [path.join(dir, kind)]);
  }
  // The same Sentinel-2 files in a project left at "general": the band names still say satellite.
  unmarked = studio.workspace.projects.create('sentinel-2, general', 'general').id;
  await studio.runImport('unmarked', unmarked, [path.join(dir, 'sentinel-2')]);
}, 120_000);
afterAll(async () => {
  await studio.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the new-run preset for the many-channel samples', () => {
  it('picks SatMAE with the Sentinel-2 groups for 13 named bands, and says why in one sentence', async () => {
    const defaults = await studio.services.training.defaults(projects['sentinel-2']!);
    expect(defaults.recipe.domainRecipe).toBe('satmae');
    const satmae = defaults.domainRecipes.find((choice) => choice.name === 'satmae')!;
    expect(satmae.why).toMatch(/^These 13-band images have bands of different ground resolutions/);
    expect(sentences(satmae.why)).toHaveLength(1);
    expect(satmae.options!.bandGroupSource).toBe('Sentinel-2 groups of SatMAE, found by band name');
    expect(satmae.options!.bandGroups).toEqual([
      [1, 2, 3, 7],
      [4, 5, 6, 8],
      [11, 12],
    ]);
    // FG-MAE, when chosen instead, starts with every index the named bands allow.
    expect(defaults.recipe.featureTargets).toEqual(['hog', 'ndvi', 'ndwi', 'ndbi']);
  });

  it('picks SatMAE for the same 13 named bands in a project not marked remote sensing, and says so', async () => {
    const defaults = await studio.services.training.defaults(unmarked);
    expect(defaults.recipe.domainRecipe).toBe('satmae');
    const satmae = defaults.domainRecipes.find((choice) => choice.name === 'satmae')!;
    expect(satmae.why).toMatch(/named as Sentinel-2's, though the project is marked general\)\.$/);
    expect(sentences(satmae.why)).toHaveLength(1);
    expect(satmae.options!.bandGroupSource).toBe('Sentinel-2 groups of SatMAE, found by band name');
  });

  it('picks CA-MAE for 5 Cell Painting stains, and says why in one sentence', async () => {
    const defaults = await studio.services.training.defaults(projects['cell-painting']!);
    expect(defaults.recipe.domainRecipe).toBe('camae');
    const camae = defaults.domainRecipes.find((choice) => choice.name === 'camae')!;
    expect(camae.why).toMatch(/^These 5-channel microscopy images have one stain per channel/);
    expect(sentences(camae.why)).toHaveLength(1);
  });
});
