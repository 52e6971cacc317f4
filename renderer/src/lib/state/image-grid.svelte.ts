/**
 * The image grid's data: filters, the total, and a bounded cache of fetched pages. The grid
 * component asks for the rows it can see (`ensureRange`); nothing ever loads the whole project.
 */
import { getContext, setContext } from 'svelte';
import { SvelteMap, SvelteSet } from 'svelte/reactivity';
import type { IMAGE_SORTS, ImageSummary, LabelChange, LabelCount, StudioClient } from '$contract';

/** How the grid is ordered. */
export type ImageSort = (typeof IMAGE_SORTS)[number];

/** Rows per `images.list` call. */
export const PAGE_SIZE = 200;
/** Pages kept in memory; the farthest from the viewport go first. */
const MAX_CACHED_PAGES = 40;
const TILE_SIZE_KEY = 'mae-studio.tile-size';
/** Smallest and largest tile edge the slider offers, in CSS pixels. */
export const TILE_SIZES = { min: 88, max: 280, initial: 140 } as const;

/** Filters, pages and selection of one project's grid. */
export class ImageGridState {
  /** `undefined` shows every label; `null` shows unlabeled images only. */
  label = $state<string | null | undefined>(undefined);
  /** What the search box holds; applied as `search` after a pause in typing. */
  query = $state('');
  search = $state('');
  sort = $state<ImageSort>('path');
  tileSize = $state(readTileSize());
  /** Matching images; null until the first page arrives. */
  total = $state<number | null>(null);
  labels = $state.raw<LabelCount[]>([]);
  selectedIndex = $state<number | null>(null);
  readonly selected = $derived(this.selectedIndex === null ? undefined : this.imageAt(this.selectedIndex));
  /** Ids of the images picked for a bulk action (Ctrl/⌘-click, Shift-click a range). */
  readonly checked = new SvelteSet<number>();
  /** The project's latest label change still in force: what "Undo" reverts; null when none. */
  lastLabelChange = $state.raw<LabelChange | null>(null);
  /** Moves whenever images were changed here (label, exclusion), so details refetch. */
  changes = $state(0);
  #range: [number, number] = [0, PAGE_SIZE - 1];

  readonly #pages = new SvelteMap<number, ImageSummary[]>();
  readonly #inflight = new Set<number>();
  #generation = 0;
  #focusPage = 0;

  constructor(
    private readonly client: StudioClient,
    readonly projectId: number,
    private readonly onError: (error: unknown) => void,
  ) {
    this.reload();
  }

  /** The image at a position in the current order, once its page is loaded. */
  imageAt(index: number): ImageSummary | undefined {
    return this.#pages.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE];
  }

  /** Fetches the pages covering positions `first..last` that are not cached or in flight. */
  ensureRange(first: number, last: number): void {
    const lastIndex = this.total === null ? last : Math.min(last, this.total - 1);
    if (lastIndex < first) return;
    this.#focusPage = Math.floor(first / PAGE_SIZE);
    this.#range = [first, last];
    for (let page = Math.floor(first / PAGE_SIZE); page <= Math.floor(lastIndex / PAGE_SIZE); page++) {
      if (!this.#pages.has(page) && !this.#inflight.has(page)) void this.#fetch(page, this.#generation);
    }
  }

  /** Shows only one label (`null`: unlabeled), or all with `undefined`. */
  setLabel(label: string | null | undefined): void {
    this.label = label;
    this.reload();
  }

  /** Filters by a substring of the path. */
  setSearch(search: string): void {
    if (search === this.search) return;
    this.search = search;
    this.reload();
  }

  /** Shows everything again. */
  clearFilters(): void {
    this.label = undefined;
    this.query = '';
    this.search = '';
    this.reload();
  }

  /** Resizes the tiles and remembers the size for next time. */
  setTileSize(size: number): void {
    this.tileSize = Math.max(TILE_SIZES.min, Math.min(TILE_SIZES.max, size));
    localStorage.setItem(TILE_SIZE_KEY, String(this.tileSize));
  }

  /** Changes the order. */
  setSort(sort: ImageSort): void {
    this.sort = sort;
    this.reload();
  }

  /** Selects a position, clamped to the images there are. */
  select(index: number | null): void {
    if (index === null || this.total === null || this.total === 0) {
      this.selectedIndex = null;
      return;
    }
    this.selectedIndex = Math.max(0, Math.min(this.total - 1, index));
  }

  /** Adds or removes one image from the bulk selection. */
  toggleChecked(id: number): void {
    if (this.checked.has(id)) this.checked.delete(id);
    else this.checked.add(id);
  }

  /** Adds every loaded image between two positions (inclusive) to the bulk selection. */
  checkRange(from: number, to: number): void {
    for (let index = Math.min(from, to); index <= Math.max(from, to); index++) {
      const image = this.imageAt(index);
      if (image) this.checked.add(image.id);
    }
  }

  /** Leaves images out of training (or takes them back); returns how many changed. */
  async setExcluded(imageIds: number[], excluded: boolean): Promise<number> {
    const { changed } = await this.client.curation.setExcluded(this.projectId, { imageIds }, excluded);
    await this.#changed();
    return changed;
  }

  /**
   * Sets the label of images (null removes it) as an override of their folder's, kept in the history; returns how many
   * changed.
   */
  async setImageLabel(imageIds: number[], label: string | null): Promise<number> {
    const { changed, change } = await this.client.labels.set(this.projectId, { imageIds }, label);
    if (change) this.lastLabelChange = change;
    await this.#changed();
    return changed;
  }

  /** Undoes the latest label change still in force; returns it, or null when there was none. */
  async undoLabels(): Promise<LabelChange | null> {
    const undone = await this.client.labels.undo(this.projectId);
    await this.#changed();
    return undone;
  }

  async #changed(): Promise<void> {
    this.changes += 1;
    await this.refresh(this.#range[0], this.#range[1]);
  }

  /** Drops every page and starts over from the top (filters changed). */
  reload(): void {
    this.#generation += 1;
    this.#pages.clear();
    this.#inflight.clear();
    this.total = null;
    this.selectedIndex = null;
    this.checked.clear();
    void this.#fetch(0, this.#generation);
    void this.loadLabels();
  }

  /**
   * Refetches the pages around the viewport and swaps them in when they arrive, so the grid
   * never blanks while images are being imported.
   */
  async refresh(first: number, last: number): Promise<void> {
    const generation = ++this.#generation;
    this.#inflight.clear();
    const firstPage = Math.floor(Math.max(0, first) / PAGE_SIZE);
    const lastPage = Math.max(firstPage, Math.floor(Math.max(0, last) / PAGE_SIZE));
    const selectedId = this.selected?.id;
    void this.loadLabels();
    try {
      const pages = await Promise.all(
        Array.from({ length: lastPage - firstPage + 1 }, (_, i) => this.#query(firstPage + i)),
      );
      if (generation !== this.#generation) return;
      this.#pages.clear();
      pages.forEach((page, i) => this.#pages.set(firstPage + i, page.images));
      this.total = pages[0]?.total ?? 0;
      // New rows may have shifted the selected image; follow it when it is still in view.
      if (selectedId !== undefined && this.selected?.id !== selectedId) {
        const at = pages.flatMap((page) => page.images).findIndex((image) => image.id === selectedId);
        this.selectedIndex = at === -1 ? null : firstPage * PAGE_SIZE + at;
      }
    } catch (error) {
      this.onError(error);
    }
  }

  /** Reloads the label chips and the change "Undo" would revert. */
  async loadLabels(): Promise<void> {
    try {
      const [labels, history] = await Promise.all([
        this.client.images.labels(this.projectId),
        this.client.labels.history(this.projectId, { limit: 200 }),
      ]);
      this.labels = labels;
      this.lastLabelChange = history.find((change) => change.undoneAt === null) ?? null;
    } catch (error) {
      this.onError(error);
    }
  }

  #query(page: number) {
    return this.client.images.list({
      projectId: this.projectId,
      offset: page * PAGE_SIZE,
      limit: PAGE_SIZE,
      sort: this.sort,
      label: this.label,
      search: this.search || undefined,
      status: 'ok',
    });
  }

  async #fetch(page: number, generation: number): Promise<void> {
    this.#inflight.add(page);
    try {
      const result = await this.#query(page);
      if (generation !== this.#generation) return;
      this.total = result.total;
      this.#pages.set(page, result.images);
      this.#evict();
    } catch (error) {
      if (generation === this.#generation) this.onError(error);
    } finally {
      if (generation === this.#generation) this.#inflight.delete(page);
    }
  }

  #evict(): void {
    if (this.#pages.size <= MAX_CACHED_PAGES) return;
    const farthest = [...this.#pages.keys()].sort(
      (a, b) => Math.abs(b - this.#focusPage) - Math.abs(a - this.#focusPage),
    );
    for (const page of farthest.slice(0, this.#pages.size - MAX_CACHED_PAGES)) this.#pages.delete(page);
  }
}

function readTileSize(): number {
  const stored = Number(localStorage.getItem(TILE_SIZE_KEY));
  return stored >= TILE_SIZES.min && stored <= TILE_SIZES.max ? stored : TILE_SIZES.initial;
}

const KEY = Symbol('image-grid');

/** Provides a project's grid state to the project view's children. */
export function setImageGrid(state: ImageGridState): ImageGridState {
  return setContext(KEY, state);
}

/** The grid state of the open project. */
export function useImageGrid(): ImageGridState {
  return getContext<ImageGridState>(KEY);
}
