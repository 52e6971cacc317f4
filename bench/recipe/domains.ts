/**
 * The labelled data the recipe benchmarks train on, each imported into a fresh workspace: the
 * three generated sample domains and scikit-learn's handwritten digits (real scans, 8×8 upscaled
 * to 32 px, one folder per digit; needs Debian's python3-sklearn).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { importFolders } from '../../app/data/import/import';
import { writeSample, type SampleDomain } from '../../app/data/synthetic/datasets';
import { Workspace } from '../../app/workspace';

/** Images of each generated sample when the benchmark does not say. */
export const SAMPLE_COUNTS: Record<SampleDomain, number> = { medical: 160, microscopy: 150, 'remote-sensing': 160 };

const DIGITS_SCRIPT = `
import sys, os
from sklearn.datasets import load_digits
from PIL import Image
import numpy as np
out, per_class = sys.argv[1], int(sys.argv[2])
digits = load_digits()
counts = {}
for image, label in zip(digits.images, digits.target):
    if counts.get(label, 0) >= per_class: continue
    counts[label] = counts.get(label, 0) + 1
    folder = os.path.join(out, str(label)); os.makedirs(folder, exist_ok=True)
    pixels = (image * 255.0 / 16.0).round().astype(np.uint8)
    Image.fromarray(pixels).resize((32, 32), Image.NEAREST).save(os.path.join(folder, f"{counts[label]:03d}.png"))
`;

/** Writes at most `perClass` digits of each label as 32×32 grey PNGs; a reason string when it cannot. */
function writeDigits(dir: string, perClass: number): string | null {
  const run = spawnSync('/usr/bin/python3', ['-c', DIGITS_SCRIPT, dir, String(perClass)], { encoding: 'utf8' });
  return run.status === 0
    ? null
    : `digits skipped: ${run.stderr.trim().split('\n').at(-1)} (apt-get install python3-sklearn)`;
}

/** How many images a domain gets. */
export interface DomainSize {
  /** Digits per label (the set has 174–183 of each: 1 000 takes all 1 797). */
  digitsPerClass: number;
  /** Images of a generated sample; absent: `SAMPLE_COUNTS`. */
  images?: number;
}

/** Writes a domain's images under `root/domain` and imports them; a reason string when it is skipped. */
export async function prepareDomain(
  root: string,
  domain: string,
  size: DomainSize,
): Promise<{ dir: string; projectId: number } | string> {
  const dir = path.join(root, domain);
  const images = path.join(dir, 'images');
  if (domain === 'digits') {
    const skipped = writeDigits(images, size.digitsPerClass);
    if (skipped) return skipped;
  } else if (domain in SAMPLE_COUNTS) {
    await writeSample(images, {
      domain: domain as SampleDomain,
      seed: 1,
      count: size.images ?? SAMPLE_COUNTS[domain as SampleDomain],
    });
  } else {
    throw new Error(`--domains: ${domain} is not one of ${[...Object.keys(SAMPLE_COUNTS), 'digits'].join(', ')}`);
  }
  const workspace = new Workspace(path.join(dir, 'workspace'));
  try {
    const project = workspace.projects.create(
      `bench ${domain}`,
      domain === 'digits' ? 'general' : (domain as SampleDomain),
    );
    await importFolders({
      importId: domain,
      projectId: project.id,
      folders: [images],
      images: workspace.images,
      projectDir: workspace.projectDir(project.id),
    });
    return { dir: path.join(dir, 'workspace'), projectId: project.id };
  } finally {
    workspace.close();
  }
}
