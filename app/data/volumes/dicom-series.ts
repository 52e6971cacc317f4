/**
 * DICOM series → volumes. The frames of one series (one Series Instance UID, whichever files and
 * folders they came from; an enhanced multi-frame file is a series of its own frames) are sorted
 * along the slice normal (row × column direction of Image Orientation (Patient)) by their Image
 * Position (Patient), and the slice spacing is the median step between positions. What makes the
 * volume doubtful is reported per series, never silently fixed: duplicate positions, missing
 * slices (a step well over the spacing), mixed orientations or sizes, frames without a position.
 *
 * A series of one frame is an image, not a volume: it gets no volume.
 */
import path from 'node:path';
import type { DicomPlane, VolumeMeta, VolumeReport } from '../../contract';
import type { ImageStore } from '../../store/images';
import { axisCodes } from '../formats/nifti-affine';
import { median } from '../median';

/** One frame as the assembly sees it (a row of the images table). */
export interface SeriesFrame {
  id: number;
  path: string;
  plane: DicomPlane;
  width: number;
  height: number;
  /** Pixel spacing (row, column) in mm, where stated. */
  pixelSpacing?: [number, number];
}

/** Positions closer than this along the normal (mm) are the same slice. */
export const DUPLICATE_TOLERANCE_MM = 0.01;
/** A step longer than this many spacings means slices are missing. */
export const GAP_FACTOR = 1.5;
/** Direction cosines that differ by more than this are another orientation. */
const ORIENTATION_TOLERANCE = 1e-3;

/** Volumes of every series of two or more frames: each frame's place, and one report per series. */
export function assembleSeries(frames: readonly SeriesFrame[]): {
  placements: Map<number, VolumeMeta>;
  reports: VolumeReport[];
} {
  const bySeries = new Map<string, SeriesFrame[]>();
  for (const frame of frames) {
    const members = bySeries.get(frame.plane.series);
    if (members) members.push(frame);
    else bySeries.set(frame.plane.series, [frame]);
  }
  const placements = new Map<number, VolumeMeta>();
  const reports: VolumeReport[] = [];
  for (const [series, members] of [...bySeries].sort(([a], [b]) => a.localeCompare(b))) {
    if (members.length < 2) continue;
    const { ordered, report, affine } = assembleOne(series, members);
    const group = members.find((frame) => frame.plane.subject)?.plane.subject ?? series;
    ordered.forEach((frame, slice) => {
      const placement: VolumeMeta = {
        key: series,
        group,
        slice,
        slices: ordered.length,
        axis: 'k',
        transform: 'dicom',
      };
      if (report.spacing) placement.spacing = report.spacing;
      if (affine) {
        placement.affine = affine;
        placement.orientation = lpsAxisCodes(affine);
      }
      if (report.problems.length > 0) placement.problems = report.problems;
      placements.set(frame.id, placement);
    });
    reports.push(report);
  }
  return { placements, reports };
}

/**
 * Assembles every DICOM series of a project (all its frames, whichever import brought them) and
 * stores each frame's place; returns one report per volume.
 */
export function assembleProjectSeries(images: ImageStore, projectId: number): VolumeReport[] {
  const rows = images.seriesFrames(projectId);
  const frames: SeriesFrame[] = rows.map((row) => ({
    id: row.id,
    path: row.path,
    plane: row.meta.plane!,
    width: row.width,
    height: row.height,
    ...(row.meta.pixelSpacing && { pixelSpacing: row.meta.pixelSpacing }),
  }));
  const { placements, reports } = assembleSeries(frames);
  images.setVolumes(
    projectId,
    placements,
    rows.map((row) => row.id),
  );
  return reports;
}

function assembleOne(
  series: string,
  members: SeriesFrame[],
): { ordered: SeriesFrame[]; report: VolumeReport; affine: number[][] | null } {
  const problems: string[] = [];
  const orientation = mostCommonOrientation(members);
  const others = orientation
    ? members.filter((frame) => frame.plane.orientation && !sameOrientation(frame.plane.orientation, orientation))
        .length
    : 0;
  if (others > 0)
    problems.push(`mixed orientations: ${others} of ${members.length} slices are not at the series' main orientation`);
  const sizes = new Set(members.map((frame) => `${frame.width}×${frame.height}`));
  if (sizes.size > 1) problems.push(`mixed slice sizes: ${[...sizes].join(', ')}`);
  const unplaced = members.filter((frame) => !frame.plane.position).length;
  const byInstance = (a: SeriesFrame, b: SeriesFrame) =>
    (a.plane.instance ?? 0) - (b.plane.instance ?? 0) || a.path.localeCompare(b.path) || a.plane.frame - b.plane.frame;
  const normal = orientation ? cross(orientation.slice(0, 3), orientation.slice(3, 6)) : null;
  // Two orthogonal unit vectors have a unit normal; a corrupt or zero orientation does not.
  const degenerate = normal !== null && Math.abs(Math.hypot(...normal) - 1) > 0.01;
  if (!orientation || !normal || degenerate || unplaced > 0) {
    if (unplaced > 0 && unplaced < members.length)
      problems.push(
        `${unplaced} of ${members.length} slices have no Image Position (Patient): ordered by instance number`,
      );
    else if (!orientation) problems.push('no Image Orientation (Patient): ordered by instance number, spacing unknown');
    else if (degenerate)
      problems.push(
        `Image Orientation (Patient) ${orientation.join('\\')} is not two ` +
          `orthogonal unit vectors: ordered by instance number, spacing unknown`,
      );
    const ordered = [...members].sort(byInstance);
    return {
      ordered,
      report: {
        volume: series,
        folder: path.dirname(ordered[0]!.path),
        slices: ordered.length,
        spacing: null,
        problems,
      },
      affine: null,
    };
  }
  const distance = (frame: SeriesFrame) => dot(frame.plane.position!, normal);
  const ordered = [...members].sort((a, b) => distance(a) - distance(b) || byInstance(a, b));
  const steps = ordered.slice(1).map((frame, index) => distance(frame) - distance(ordered[index]!));
  const duplicates = steps.filter((step) => step < DUPLICATE_TOLERANCE_MM).length;
  if (duplicates > 0)
    problems.push(
      `duplicate slices: ${duplicates} ` +
        `slice${duplicates === 1 ? ' shares its' : 's share their'} position with another`,
    );
  const apart = steps.filter((step) => step >= DUPLICATE_TOLERANCE_MM);
  const spacingAlong = apart.length > 0 ? median(apart) : null;
  if (spacingAlong !== null) {
    let missing = 0;
    const where: string[] = [];
    steps.forEach((step, index) => {
      if (step > GAP_FACTOR * spacingAlong) {
        missing += Math.round(step / spacingAlong) - 1;
        where.push(`${round(distance(ordered[index]!))}–${round(distance(ordered[index + 1]!))} mm`);
      }
    });
    if (missing > 0)
      problems.push(
        `missing slices: about ${missing} (gaps ` +
          `at ${where.slice(0, 3).join(', ')}${where.length > 3 ? ', …' : ''}; spacing ${round(spacingAlong)} mm)`,
      );
  }
  const pixel = ordered[0]!.pixelSpacing;
  const spacing: [number, number, number] | null =
    spacingAlong === null ? null : [pixel?.[1] ?? 1, pixel?.[0] ?? 1, spacingAlong];
  const origin = ordered[0]!.plane.position!;
  // Columns: i runs along the row direction, j along the column direction, k along the normal.
  const affine = spacing
    ? [0, 1, 2]
        .map((axis) => [
          orientation[axis]! * spacing[0],
          orientation[3 + axis]! * spacing[1],
          normal[axis]! * spacing[2],
          origin[axis]!,
        ])
        .concat([[0, 0, 0, 1]])
    : null;
  return {
    ordered,
    report: { volume: series, folder: path.dirname(ordered[0]!.path), slices: ordered.length, spacing, problems },
    affine,
  };
}

function mostCommonOrientation(members: SeriesFrame[]): number[] | null {
  const counts = new Map<string, { orientation: number[]; count: number }>();
  for (const frame of members) {
    if (!frame.plane.orientation) continue;
    const key = frame.plane.orientation.map((value) => value.toFixed(3)).join(',');
    const entry = counts.get(key) ?? { orientation: frame.plane.orientation, count: 0 };
    entry.count++;
    counts.set(key, entry);
  }
  return [...counts.values()].sort((a, b) => b.count - a.count)[0]?.orientation ?? null;
}

function sameOrientation(a: number[], b: number[]): boolean {
  return a.every((value, index) => Math.abs(value - b[index]!) <= ORIENTATION_TOLERANCE);
}

/** Axis codes of an LPS+ affine (DICOM patient coordinates): +x is L, +y is P, +z is S. */
export function lpsAxisCodes(affine: number[][]): string {
  return axisCodes(affine, 'LPS');
}

function cross(a: number[], b: number[]): number[] {
  return [a[1]! * b[2]! - a[2]! * b[1]!, a[2]! * b[0]! - a[0]! * b[2]!, a[0]! * b[1]! - a[1]! * b[0]!];
}

function dot(a: readonly number[], b: readonly number[]): number {
  return a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
