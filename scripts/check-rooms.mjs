#!/usr/bin/env node
// The rooms check (`npm test` runs it): every relative import between the studio's rooms must point
// down the order below (docs/ARCHITECTURE.md, "Rooms"), and no two rooms may import each other, even
// through a third. Prints one line per violation naming both files and exits 1; exits 0 when clean.
//
//   node scripts/check-rooms.mjs [root]
//
// A room is `app/<folder>` for files under an app folder, `app/contract` for `app/contract*.ts`,
// `app/<name>` for any other top-level file of app/, and `main` / `renderer` for those trees.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The rooms, lowest first. A room may import rooms of a LOWER level only (and itself); rooms on one
 * level may not import each other. Every rule says why, from docs/ARCHITECTURE.md.
 */
export const ROOM_LEVELS = [
  // 0 — the contract: the one API, types and schemas only; no Node, Electron or DOM. Everyone's floor,
  // with the two leaf helpers every room may use (the version string, the safe-path guard).
  ['app/contract', 'app/version', 'app/safe-path'],
  // 1 — the server side of the contract (dispatcher, `StudioEvents`): services below it emit events
  // through it, so it sits right above the contract. The database and its repositories.
  ['app/rpc', 'app/store'],
  // 2 — the workspace folder: database, repositories, project folders. Every domain room reads it.
  ['app/workspace'],
  // 3 — the TF.js backends (native, webgpu) and gradient registration: below the model that runs on them.
  ['app/runtime'],
  // 4 — the model: the MAE, its weights (safetensors, published weights). Knows nothing of data or runs.
  ['app/mae'],
  // 5 — images: import, decode, batches, augmentation. May use the model's helpers, never training.
  ['app/data'],
  // 6 — training, probes and fine-tuning over data batches and the model.
  ['app/train'],
  // 7 — the torchrun handoff, then exports (an export of a handed-off run reads its job).
  ['app/handoff'],
  ['app/export'],
  // 8 — `Studio`, which implements every service over the rooms below.
  ['app/studio'],
  // 9 — the transports and front doors over the studio: serve mode, then the CLI (which can serve).
  ['app/serve'],
  ['app/cli'],
  // 10 — Electron main wires app/ to Electron (anything in app/ may be wired; nothing imports main).
  ['main'],
];

/**
 * Rooms outside the order, with the only rooms they may import. The renderer talks to the studio
 * through `createClient` alone, so it imports `app/contract*.ts` and nothing else of app/ or main/.
 */
export const ROOM_ONLY = {
  renderer: ['app/contract'],
};

/**
 * Imports known to break the rules today, each with its reason and where it should move. The check
 * passes while these stand and fails on any import not listed. Key: `from-file -> to-file`.
 */
export const ALLOWED = {};

const SOURCE = /\.(ts|svelte|mts)$/;
/**
 * Tests and the helpers only tests use are left out: a test sits beside the code it covers and may
 * build the whole studio around it (an integration test in train/ opens a `Studio`), which is not a
 * dependency of the room's code.
 */
const TEST = /(\.test\.ts|\.fixtures\.ts|\.cases\.ts|\.child\.ts)$/;
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+|\$contract)['"]/g;
/** Import aliases (renderer/vite.config.ts, renderer/tsconfig.json) and the file each names. */
const ALIASES = { $contract: 'app/contract.ts' };

/** The room of a file (path relative to the root, with `/`), or null outside the rooms. */
export function roomOf(file) {
  const parts = file.split('/');
  if (parts[0] === 'main' || parts[0] === 'renderer') return parts[0];
  if (parts[0] !== 'app') return null;
  if (parts.length > 2) return `app/${parts[1]}`;
  const name = parts[1].replace(/\..*$/, '');
  return name.startsWith('contract') ? 'app/contract' : `app/${name}`;
}

function walk(directory, root, into) {
  if (!fs.existsSync(directory)) return into;
  for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) walk(full, root, into);
    else if (SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts'))
      into.push(path.relative(root, full).split(path.sep).join('/'));
  }
  return into;
}

/** The file a relative specifier or an alias names (`./x.js` → `x.ts`, `x.svelte.ts`, `x/index.ts`), or null. */
function resolve(root, from, specifier) {
  if (Object.hasOwn(ALIASES, specifier)) return ALIASES[specifier];
  const base = path.posix.join(path.posix.dirname(from), specifier);
  const stem = base.replace(/\.(js|mjs|cjs)$/, '');
  const candidates = [base, `${stem}.ts`, `${stem}.mts`, `${base}.ts`, `${stem}/index.ts`];
  for (const candidate of candidates) {
    const full = path.join(root, candidate);
    if (fs.existsSync(full) && fs.statSync(full).isFile()) return candidate;
  }
  return null;
}

/** Every import between two different rooms under `root`: `{ from, to, fromRoom, toRoom }`. */
export function roomImports(root) {
  const files = ['app', 'main', 'renderer'].flatMap((top) => walk(path.join(root, top), root, []));
  const edges = [];
  for (const from of files) {
    const text = fs.readFileSync(path.join(root, from), 'utf8');
    if (TEST.test(from)) continue;
    for (const match of text.matchAll(IMPORT)) {
      const to = resolve(root, from, match[1]);
      if (!to || TEST.test(to)) continue;
      const fromRoom = roomOf(from);
      const toRoom = roomOf(to);
      if (!fromRoom || !toRoom || fromRoom === toRoom) continue;
      edges.push({ from, to, fromRoom, toRoom });
    }
  }
  return edges;
}

/** The rules' verdict on one import: a reason when it is not allowed, else null. */
function ruleBroken(edge, levels, only) {
  if (only[edge.fromRoom])
    return only[edge.fromRoom].includes(edge.toRoom)
      ? null
      : `${edge.fromRoom} may import only ${only[edge.fromRoom].join(', ')}`;
  if (only[edge.toRoom]) return `nothing imports ${edge.toRoom}`;
  const fromLevel = levels.get(edge.fromRoom);
  const toLevel = levels.get(edge.toRoom);
  if (fromLevel === undefined) return `${edge.fromRoom} is not in the room order (scripts/check-rooms.mjs)`;
  if (toLevel === undefined) return `${edge.toRoom} is not in the room order (scripts/check-rooms.mjs)`;
  if (toLevel > fromLevel)
    return `upward: ${edge.fromRoom} (level ${fromLevel}) imports ${edge.toRoom} (level ${toLevel})`;
  if (toLevel === fromLevel) return `sideways: ${edge.fromRoom} and ${edge.toRoom} share level ${fromLevel}`;
  return null;
}

/** Cycles between rooms, each as the list of rooms around it (first repeated last). */
function roomCycles(edges) {
  const next = new Map();
  for (const edge of edges) {
    if (!next.has(edge.fromRoom)) next.set(edge.fromRoom, new Set());
    next.get(edge.fromRoom).add(edge.toRoom);
  }
  // Tarjan's strongly connected components: a component of more than one room is a cycle.
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const components = [];
  let counter = 0;
  function visit(room) {
    index.set(room, counter);
    low.set(room, counter);
    counter += 1;
    stack.push(room);
    onStack.add(room);
    for (const target of next.get(room) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(room, Math.min(low.get(room), low.get(target)));
      } else if (onStack.has(target)) low.set(room, Math.min(low.get(room), index.get(target)));
    }
    if (low.get(room) === index.get(room)) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        component.push(member);
      } while (member !== room);
      if (component.length > 1) components.push(component.sort());
    }
  }
  for (const room of next.keys()) if (!index.has(room)) visit(room);
  return components;
}

/**
 * Checks the rooms under `root`. Returns the violation lines (empty when clean) and the allow-list
 * entries that no longer match an import (stale, to delete).
 */
export function checkRooms(root, { levels = ROOM_LEVELS, only = ROOM_ONLY, allowed = ALLOWED } = {}) {
  const levelOf = new Map(levels.flatMap((rooms, level) => rooms.map((room) => [room, level])));
  const edges = roomImports(root);
  const used = new Set();
  const violations = [];
  const live = [];
  for (const edge of edges) {
    const key = `${edge.from} -> ${edge.to}`;
    if (key in allowed) {
      used.add(key);
      continue;
    }
    live.push(edge);
    const reason = ruleBroken(edge, levelOf, only);
    if (reason) violations.push(`${edge.from} imports ${edge.to}: ${reason}`);
  }
  for (const cycle of roomCycles(live)) {
    const inCycle = new Set(cycle);
    const through = live.filter((edge) => inCycle.has(edge.fromRoom) && inCycle.has(edge.toRoom));
    violations.push(
      `cycle between ` +
        `rooms ${cycle.join(' ↔ ')}: ${through.map((edge) => `${edge.from} imports ${edge.to}`).join('; ')}`,
    );
  }
  const stale = Object.keys(allowed).filter((key) => !used.has(key));
  return { violations, stale, edges: edges.length };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
  const { violations, stale, edges } = checkRooms(root);
  for (const line of violations) console.log(line);
  for (const key of stale)
    console.log(`allow-list entry matches no import any more (delete it from scripts/check-rooms.mjs): ${key}`);
  const failed = violations.length + stale.length;
  console.log(
    `rooms: ${edges} imports between rooms, ${violations.length} violations, ` +
      `${Object.keys(ALLOWED).length - stale.length} ` +
      `allow-listed${stale.length ? `, ${stale.length} stale allow-list entries` : ''}`,
  );
  process.exit(failed ? 1 : 0);
}
