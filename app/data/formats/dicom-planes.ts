/**
 * Where the frames of a DICOM file lie and which series and subject they belong to: what
 * `volumes/dicom-series.ts` assembles series into volumes from. Identifiers are never kept, only
 * pseudonyms (a sha256 prefix) of the Series Instance UID and the Patient ID.
 */
import { createHash } from 'node:crypto';
import type { DataSet } from 'dicom-parser';
import type { DicomPlane } from '../../contract';

/** A pseudonym of an identifier: the first 16 hex digits of its sha256 (never the UID or ID itself). */
function pseudonym(kind: string, value: string | undefined): string | undefined {
  const clean = value?.replace(/\0/g, '').trim();
  return clean ? createHash('sha256').update(`${kind}:${clean}`).digest('hex').slice(0, 16) : undefined;
}

/** The first item of a functional group sequence of the shared groups (enhanced multi-frame). */
export function sharedGroup(dataSet: DataSet, tag: string): DataSet | undefined {
  return dataSet.elements.x52009229?.items?.[0]?.dataSet?.elements[tag]?.items?.[0]?.dataSet;
}

function readTriple(dataSet: DataSet | undefined, tag: string, count: number): number[] | undefined {
  if (!dataSet) return undefined;
  const values = Array.from({ length: count }, (_, index) => dataSet.floatString(tag, index));
  return values.every((value): value is number => value !== undefined && Number.isFinite(value)) ? values : undefined;
}

/**
 * Series, subject and geometry of each frame: Image Position/Orientation (Patient) of a classic
 * file, or the per-frame and shared functional groups of an enhanced multi-frame file. Null when
 * the file names no series (nothing to assemble).
 */
export function readPlanes(dataSet: DataSet, frames: number): DicomPlane[] | null {
  const series = pseudonym('series', dataSet.string('x0020000e'));
  if (!series) return null;
  const subject = pseudonym('patient', dataSet.string('x00100020'));
  const instance = dataSet.intString('x00200013');
  const perFrame = dataSet.elements.x52009230?.items;
  const sharedOrientation =
    readTriple(sharedGroup(dataSet, 'x00209116'), 'x00200037', 6) ?? readTriple(dataSet, 'x00200037', 6);
  const gridOffsets = !perFrame && frames > 1 ? readTriple(dataSet, 'x3004000c', frames) : undefined;
  const firstPosition = readTriple(dataSet, 'x00200032', 3);
  return Array.from({ length: frames }, (_, frame) => {
    const groups = perFrame?.[frame]?.dataSet;
    const orientation =
      readTriple(groups?.elements.x00209116?.items?.[0]?.dataSet, 'x00200037', 6) ?? sharedOrientation;
    const position =
      readTriple(groups?.elements.x00209113?.items?.[0]?.dataSet, 'x00200032', 3) ??
      classicPosition(firstPosition, orientation, gridOffsets, frame);
    const plane: DicomPlane = { series, frame };
    if (subject) plane.subject = subject;
    if (instance !== undefined) plane.instance = instance;
    if (position) plane.position = position as [number, number, number];
    if (orientation) plane.orientation = orientation;
    return plane;
  });
}

/**
 * Where frame `frame` of a classic multi-frame file lies: the file's one Image Position is its
 * first frame's; an RT dose's Grid Frame Offset Vector (3004,000C) moves each frame along the
 * normal (offsets relative to the first, whether they start at 0 or not). Without offsets, only
 * the first frame has a position.
 */
function classicPosition(
  first: number[] | undefined,
  orientation: number[] | undefined,
  offsets: number[] | undefined,
  frame: number,
): number[] | undefined {
  if (!first || frame === 0) return first;
  if (!offsets || !orientation) return undefined;
  const [a, b, c, d, e, f] = orientation as [number, number, number, number, number, number];
  const normal = [b * f - c * e, c * d - a * f, a * e - b * d];
  const step = offsets[frame]! - offsets[0]!;
  return first.map((value, axis) => value + step * normal[axis]!);
}
