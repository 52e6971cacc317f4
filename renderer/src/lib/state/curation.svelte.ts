/**
 * The curation screen's data: the dataset's health and the channel plan, reloaded after each
 * change the user makes (exclude a folder, split, save the plan).
 */
import type { ChannelPlan, ChannelPlanView, DatasetHealth, StudioClient } from '../../../../app/contract';

/** Health and channel plan of one project, with the actions that change them. */
export class CurationState {
  health = $state.raw<DatasetHealth | null>(null);
  planView = $state.raw<ChannelPlanView | null>(null);
  /** The plan being edited (saved with `savePlan`). */
  draft = $state<ChannelPlan | null>(null);
  /** What is running: 'stats', 'thumbnails', 'split', 'save' or null. */
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
      const [health, planView] = await Promise.all([this.client.curation.health(this.projectId), this.client.curation.channelPlan(this.projectId)]);
      this.health = health;
      this.setPlanView(planView);
    } catch (error) {
      this.onError(error);
    }
  }

  private setPlanView(view: ChannelPlanView): void {
    this.planView = view;
    this.draft = structuredClone(view.plan);
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
    if (view) this.setPlanView({ ...view, plan: this.draft ?? view.plan });
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
