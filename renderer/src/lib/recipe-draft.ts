/** The new-run form as the core checks it. */
import type { RecipeDraft } from '$contract';

/**
 * The form's values as a draft: only the chosen domain recipe's options (the others wait, hidden,
 * in the form, so switching back finds them), and the weights file when one is given.
 */
export function recipeDraft(values: Record<string, unknown>, initPath: string): RecipeDraft {
  const { blurSigma, featureTargets, ...rest } = values;
  return {
    ...rest,
    ...(values.domainRecipe === 'deblur' && { blurSigma }),
    ...(values.domainRecipe === 'fgmae' && { featureTargets }),
    ...(initPath.trim() && { init: initPath.trim() }),
  };
}
