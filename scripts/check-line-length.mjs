#!/usr/bin/env node
// The line-length check (`npm run lint` and `npm test` run it): no line of source is longer than
// 120 characters. Biome's formatter wraps code at 120 but leaves comments, strings, regular
// expressions, Svelte markup text and the Python, C++ and shell sources alone; this catches those.
// Prints one line per long line (file:line: length) and exits 1; exits 0 when there is none.
//
//   node scripts/check-line-length.mjs [root]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The widest line allowed, in characters (UTF-16 code units, as editors and Biome count them). */
export const MAX_LINE_LENGTH = 120;

/** The source trees checked, relative to the root, and the file types in them that are source. */
export const CHECKED = {
  folders: ['app', 'main', 'renderer', 'e2e', 'scripts', 'bench', 'native'],
  rootFiles: ['vitest.config.ts'],
  extensions: ['.ts', '.mjs', '.cjs', '.js', '.svelte', '.css', '.html', '.py', '.cc', '.h', '.sh', '.gyp'],
  skipped: ['node_modules', 'dist', 'build', 'public'],
};

/** Source files under `root`, as paths relative to it, sorted. */
export function sourceFiles(root) {
  const found = [];
  const visit = (relative) => {
    for (const entry of fs.readdirSync(path.join(root, relative), { withFileTypes: true })) {
      const child = path.join(relative, entry.name);
      if (entry.isDirectory() && !CHECKED.skipped.includes(entry.name)) visit(child);
      else if (entry.isFile() && CHECKED.extensions.includes(path.extname(entry.name))) found.push(child);
    }
  };
  for (const folder of CHECKED.folders) if (fs.existsSync(path.join(root, folder))) visit(folder);
  for (const file of CHECKED.rootFiles) if (fs.existsSync(path.join(root, file))) found.push(file);
  return found.sort();
}

/** Lines longer than MAX_LINE_LENGTH in the source files under `root`. */
export function longLines(root) {
  const long = [];
  for (const file of sourceFiles(root)) {
    const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
    lines.forEach((line, index) => {
      if (line.length > MAX_LINE_LENGTH) long.push({ file, line: index + 1, length: line.length });
    });
  }
  return long;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
  const long = longLines(root);
  for (const { file, line, length } of long) {
    console.log(`${file}:${line}: ${length} characters, more than ${MAX_LINE_LENGTH}`);
  }
  console.log(
    `line length: ${long.length} over ${MAX_LINE_LENGTH} characters (${sourceFiles(root).length} files checked)`,
  );
  process.exit(long.length ? 1 : 0);
}
