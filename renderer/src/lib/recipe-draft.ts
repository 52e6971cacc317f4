/** The new-run form as the core checks it. */
import type { RecipeDraft } from '$contract';

/**
 * The form's values as a draft: only the chosen domain recipe's options (the others wait, hidden,
 * in the form, so switching back finds them), and the weights file when one is given.
 */
export function recipeDraft(
  values: Record<string, unknown>,
  initPath: string,
  bandGroups: BandGroupsInput = { text: '', spatialMask: false },
  temporal: TemporalInput = { dates: null, sameMask: false },
): RecipeDraft {
  const { blurSigma, featureTargets, hardPatchShare, ...rest } = values;
  const groups = parseBandGroups(bandGroups.text);
  return {
    ...rest,
    ...(values.domainRecipe === 'deblur' && { blurSigma }),
    ...(values.domainRecipe === 'fgmae' && { featureTargets }),
    ...(values.domainRecipe === 'hpm' && { hardPatchShare }),
    ...(values.domainRecipe === 'satmae' && {
      spatialMask: bandGroups.spatialMask,
      ...(groups && { bandGroups: groups }),
    }),
    ...(values.domainRecipe === 'satmae-temporal' && { dates: temporal.dates, sameMask: temporal.sameMask }),
    ...(initPath.trim() && { init: initPath.trim() }),
  };
}

/** SatMAE temporal's options as the dialog holds them: dates per sample (empty: none typed) and the shared mask. */
export interface TemporalInput {
  dates: number | null;
  sameMask: boolean;
}

/** SatMAE's band groups as typed: groups apart by `|` or `;`, bands by `,`; left empty, the preset. */
export interface BandGroupsInput {
  text: string;
  spatialMask: boolean;
}

/**
 * "B2, B3 | 4, 5" → [["B2", "B3"], [4, 5]]: whole numbers are band indices, anything else a name;
 * empty text → undefined (the preset).
 */
export function parseBandGroups(text: string): (number | string)[][] | undefined {
  if (!text.trim()) return undefined;
  return text.split(/[|;]/).map((group) =>
    group
      .split(',')
      .map((band) => band.trim())
      .filter(Boolean)
      .map((band) => (/^\d+$/.test(band) ? Number(band) : band)),
  );
}

/** SatMAE's preset groups as the field shows them: "B2, B3, B4, B8 | B5, B6". */
export function formatBandGroups(names: readonly (readonly string[])[]): string {
  return names.map((group) => group.join(', ')).join(' | ');
}
