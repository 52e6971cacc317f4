/**
 * Child of kill-during-prepare.test.ts: prepares the training cache of the PNGs in a folder with
 * one sample per shard (so a kill lands in a shard's write, rename or manifest as often as can
 * be), printing a line per sample, until it is killed or done.
 */
import fs from 'node:fs';
import path from 'node:path';
import { prepareTrainingCache } from './prepare';

const [projectDir, imagesDir, side] = process.argv.slice(2);
const entries = fs
  .readdirSync(imagesDir!)
  .sort()
  .map((name) => ({
    path: path.join(imagesDir!, name),
    sha256: `hash-${name}`,
    channels: 3,
    bitDepth: 8,
  }));
void prepareTrainingCache({
  projectDir: projectDir!,
  entries,
  side: Number(side),
  shardBytes: 1,
  concurrency: 1,
  onProgress: (progress) => process.stdout.write(`prepared ${progress.read}\n`),
}).then(() => process.stdout.write('done\n'));
