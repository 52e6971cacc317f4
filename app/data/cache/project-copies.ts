/**
 * Which inflated volume copies (`volume-copies.ts`) belong to a project: those made from files
 * the project imported. A copy is kept per workspace and serves every project that imports its
 * source, so a project's copies are removed (cache cleared, project deleted) only when no other
 * project imports the same file; such a shared copy is still counted in each project's usage.
 */
import { copiesOf, copySources, removeCopiesOf } from './volume-copies';

/** What attributing copies needs to know of the workspace's projects. */
export interface CopyOwners {
  /** Every project's id. */
  projectIds(): number[];
  /** Which of `paths` the project imported. */
  importedPaths(projectId: number, paths: readonly string[]): Set<string>;
}

/** The project's volume copies (shared ones too): how many, and their bytes on disk. */
export function projectCopies(owners: CopyOwners, projectId: number): { copies: number; bytes: number } {
  return copiesOf(owners.importedPaths(projectId, copySources()));
}

/**
 * Removes the project's volume copies except those of files another project also imported;
 * returns how many went. Call it before the project's image rows are deleted.
 */
export function removeProjectCopies(owners: CopyOwners, projectId: number): number {
  const own = owners.importedPaths(projectId, copySources());
  if (own.size === 0) return 0;
  for (const other of owners.projectIds()) {
    if (other === projectId) continue;
    for (const shared of owners.importedPaths(other, [...own])) own.delete(shared);
  }
  return removeCopiesOf(own);
}
