/**
 * The curation screen's data: the dataset's health and the channel plan, reloaded after each
 * change the user makes (exclude a folder, split, save the plan).
 */
import type { ChannelConversion, ChannelPlan, ChannelPlanView, DatasetHealth, StudioClient } from '$contract';

/** Health and channel plan of one project, with the actions that change them. */
export class CurationState {
  health = $state.raw<DatasetHealth | null>(null);
  planView = $state.raw<ChannelPlanView | null>(null);
  /** The plan being edited (saved with `savePlan`). */
  draft = $state<ChannelPlan | null>(null);
  /** What is running: 'stats', 'thumbnails', 'split', 'save', 'conversion' or null. */
  busy = $state<string | null>(null);
  /** Bumped when thumbnails are redrawn, so images reload. */
  thumbnailVersion = $state(0);

  constructor(
    private readonly client: StudioClient,
    readonly projectId: number,
    private readonly onError: (error: unknown) => void,
  ) {
    void this.load();
  }

  async load(): Promise<void> {
    try {
      const [health, planView] = await Promise.all([
        this.client.curation.health(this.projectId),
        this.client.curation.channelPlan(this.projectId),
      ]);
      this.health = health;
      this.setPlanView(planView);
    } catch (error) {
      this.onError(error);
    }
  }

  /** Shows a view; the draft becomes its plan, or keeps the user's unsaved edits when `keepDraft`. */
  private setPlanView(view: ChannelPlanView, keepDraft = false): void {
    this.planView = view;
    // The draft is a $state proxy, which structuredClone refuses: snapshot it first.
    const draft = keepDraft && this.draft ? ($state.snapshot(this.draft) as ChannelPlan) : null;
    this.draft =
      draft && draft.inputChannels === view.plan.inputChannels
        ? { ...draft, conversions: { ...view.plan.conversions } }
        : structuredClone(view.plan);
  }

  async #run<T>(what: string, action: () => Promise<T>): Promise<T | undefined> {
    this.busy = what;
    try {
      return await action();
    } catch (error) {
      this.onError(error);
      return undefined;
    } finally {
      this.busy = null;
    }
  }

  /** Leaves a folder's images out of training (or takes them back). */
  async setFolderExcluded(folder: string, excluded: boolean): Promise<void> {
    await this.#run('folder', () => this.client.curation.setExcluded(this.projectId, { folder }, excluded));
    await this.load();
  }

  /** Draws and stores a stratified split. */
  async split(valFraction: number, seed: number): Promise<{ train: number; val: number } | undefined> {
    const result = await this.#run('split', () => this.client.curation.split(this.projectId, { valFraction, seed }));
    await this.load();
    return result;
  }

  async computeStats(): Promise<void> {
    const view = await this.#run('stats', () => this.client.curation.computeStats(this.projectId));
    if (view) this.setPlanView(view, true);
  }

  /**
   * Decides what happens to images of one channel count, or which count every image is brought
   * to (`inputChannels`: bands then reset to all of them, conversions to their defaults). Saved at
   * once, like leaving a folder out, since it changes what is kept for training; other unsaved
   * edits of the plan stay in the draft.
   */
  async setConversion(
    change: { channels: number; conversion: ChannelConversion } | { inputChannels: number },
  ): Promise<void> {
    const saved = this.planView?.plan;
    if (!saved) return;
    let plan: ChannelPlan;
    if ('inputChannels' in change) {
      const display = change.inputChannels >= 3 ? [0, 1, 2] : [0];
      const bands = Array.from({ length: change.inputChannels }, (_, band) => band);
      plan = {
        ...saved,
        inputChannels: change.inputChannels,
        conversions: {},
        bands,
        displayBands: display,
        displayRange: display.map(() => null),
      };
    } else {
      plan = { ...saved, conversions: { ...saved.conversions, [String(change.channels)]: change.conversion } };
    }
    const view = await this.#run('conversion', () => this.client.curation.setChannelPlan(this.projectId, plan));
    if (!view) return;
    this.setPlanView(view, true);
    try {
      this.health = await this.client.curation.health(this.projectId);
    } catch (error) {
      this.onError(error);
    }
  }

  async savePlan(): Promise<boolean> {
    if (!this.draft) return false;
    const plan = $state.snapshot(this.draft) as ChannelPlan;
    const view = await this.#run('save', () => this.client.curation.setChannelPlan(this.projectId, plan));
    if (view) this.setPlanView(view);
    return view !== undefined;
  }

  /** Saves the plan, then redraws thumbnails with its display bands. */
  async renderThumbnails(): Promise<{ rendered: number; failed: number } | undefined> {
    if (!(await this.savePlan())) return undefined;
    const result = await this.#run('thumbnails', () => this.client.curation.renderThumbnails(this.projectId));
    this.thumbnailVersion++;
    return result;
  }
}
