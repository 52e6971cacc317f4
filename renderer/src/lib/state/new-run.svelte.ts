/**
 * The New-run dialog's 2-D recipe: the form (the last run's values over the engine's defaults),
 * the core's check of every change, the optional warm-up measurement, and Start.
 */
import type {
  Recipe,
  RecipeCheck,
  RecipeDefaults,
  RecipeDraft,
  RecipeField,
  StudioClient,
  WarmupEstimate,
} from '$contract';
import { errorMessage } from '../errors';
import { recipeDraft } from '../recipe-draft';
import type { TrainingState } from './training.svelte';

/** The form's values; a cleared number field is null, and the core says so. */
export type RecipeForm = { [K in keyof RecipeDefaults['recipe']]: RecipeDefaults['recipe'][K] | null };

/** The core's error for each field it refused, in plain words. */
export type FieldErrors = Map<RecipeField, string>;

/** How long the form rests before the core checks it (ms): a check per pause, not per keystroke. */
const CHECK_DELAY_MS = 200;

/**
 * One opening's worth of the 2-D recipe. The dialog calls `load` when it opens and `watch` from an
 * effect; fields bind to `form` and the SatMAE inputs; Start stays off until `check` passes `draft`.
 */
export class NewRunRecipe {
  defaults = $state<RecipeDefaults | null>(null);
  form = $state<RecipeForm | null>(null);
  check = $state<RecipeCheck | null>(null);
  estimate = $state<WarmupEstimate | null>(null);
  estimating = $state(false);
  starting = $state(false);
  error = $state('');
  /** Optional published weights to start from (path of a .pth or .safetensors file). */
  initPath = $state('');
  /** SatMAE's band groups as typed (empty: the preset) and whether every group shares one mask. */
  bandGroupsText = $state('');
  spatialMask = $state(false);
  /** SatMAE temporal: dates of one place per sample, and whether every date shares one mask. */
  dates = $state<number | null>(3);
  sameMask = $state(false);
  /** The draft `check` answers for; Start waits while the form has changed since. */
  #checked = $state('');

  readonly draft = $derived<RecipeDraft | null>(
    this.form
      ? recipeDraft(
          this.form,
          this.initPath,
          { text: this.bandGroupsText, spatialMask: this.spatialMask },
          { dates: this.dates, sameMask: this.sameMask },
        )
      : null,
  );
  /** Only sent once the core has passed this very draft (Start is off otherwise). */
  readonly recipe = $derived(this.draft as Recipe | null);
  readonly pending = $derived(this.draft !== null && JSON.stringify(this.draft) !== this.#checked);
  readonly errors: FieldErrors = $derived(
    new Map((this.check?.errors ?? []).map((item) => [item.field, item.message])),
  );

  constructor(
    private readonly client: StudioClient,
    private readonly training: TrainingState,
  ) {}

  /** On each opening: no stale error or measurement; the form filled once, with the last run's values. */
  async load(): Promise<void> {
    this.error = '';
    this.estimate = null;
    try {
      const value = await this.client.training.defaults(this.training.projectId);
      this.defaults = value;
      if (this.form) return;
      // The last values used in this project, field by field over the defaults.
      const last: Partial<Record<string, unknown>> = { ...value.last };
      this.form = Object.fromEntries(
        Object.entries(value.recipe).map(([key, fallback]) => [key, last[key] ?? fallback]),
      ) as RecipeForm;
      this.initPath = value.last?.init ?? '';
      const temporal = value.domainRecipes.find((choice) => choice.name === 'satmae-temporal');
      this.dates = value.last?.dates ?? temporal?.options?.frames ?? 3;
      this.sameMask = value.last?.sameMask ?? false;
    } catch (caught) {
      this.error = errorMessage(caught, true);
    }
  }

  /**
   * Has the core check the current draft once the form rests (field errors, steps, parameters,
   * memory, time). Call it from an effect, which then re-runs on every change; returns the cleanup.
   */
  watch(): (() => void) | undefined {
    const current = this.draft;
    if (!current) return;
    const key = JSON.stringify(current);
    let live = true;
    const timer = setTimeout(() => {
      this.client.training
        .check(this.training.projectId, current)
        .then((value) => {
          if (!live) return;
          this.check = value;
          this.#checked = key;
          if (!value.time) this.estimate = null; // measured for a recipe that costs differently per step
        })
        .catch((caught) => live && (this.error = errorMessage(caught, true)));
    }, CHECK_DELAY_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }

  /** Back to the engine's defaults (the form opens with the last run's values). */
  useDefaults(): void {
    if (!this.defaults) return;
    this.form = { ...this.defaults.recipe };
    this.initPath = '';
  }

  /** Times a few warm-up steps of the checked recipe in a training process. */
  async measure(): Promise<void> {
    if (!this.recipe) return;
    this.estimating = true;
    this.error = '';
    try {
      const measured = JSON.stringify(this.draft);
      this.estimate = await this.client.training.estimate(this.training.projectId, this.recipe);
      // Measured for exactly this recipe: the summary's time, unless the form changed meanwhile.
      if (this.check && this.#checked === measured) this.check = { ...this.check, time: this.estimate.time };
    } catch (caught) {
      this.error = errorMessage(caught, true);
    } finally {
      this.estimating = false;
    }
  }

  /** Starts the checked recipe, shows its run, then calls `done` (closes the dialog). */
  async start(done: () => void): Promise<void> {
    if (!this.recipe) return;
    this.starting = true;
    this.error = '';
    try {
      const run = await this.client.training.start(this.training.projectId, this.recipe);
      await this.training.refresh();
      this.training.show('run', run.id);
      done();
    } catch (caught) {
      this.error = errorMessage(caught, true);
    } finally {
      this.starting = false;
    }
  }
}
