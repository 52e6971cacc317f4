/**
 * The Python the PyTorch reference tests run: the first of Debian's and the PATH's `python3` that
 * imports torch (Debian's python3-torch). CI installs it, so there every such test must run
 * (`runTorch`), and only a machine without it skips them.
 */
import { spawnSync } from 'node:child_process';

/** A Python with PyTorch, or undefined when none is installed. */
export const torchPython = ['/usr/bin/python3', 'python3'].find(
  (candidate) => spawnSync(candidate, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0,
);

/** Whether the PyTorch reference tests run here: torch is installed, or this is CI (where it must be). */
export const runTorch = torchPython !== undefined || process.env.CI === 'true';
