/** The project list in the sidebar and which project is open. */
import { getContext, setContext } from 'svelte';
import type { CreateProject, Project, ProjectRemoval, StudioClient } from '$contract';
import type { RouteState } from './route.svelte';

const LAST_PROJECT_KEY = 'mae-studio.last-project';

/** Projects, the selection, and the calls that change them. */
export class ProjectsState {
  items = $state<Project[]>([]);
  loaded = $state(false);
  selectedId = $state<number | null>(null);
  readonly selected = $derived(this.items.find((project) => project.id === this.selectedId) ?? null);

  constructor(
    private readonly client: StudioClient,
    /** Where the open project is written in the address, when the app keeps one. */
    private readonly route?: RouteState,
  ) {}

  /** Reloads the list; keeps the selection when the project still exists. */
  async refresh(): Promise<void> {
    this.items = await this.client.projects.list();
    this.loaded = true;
    if (this.selectedId === null || !this.items.some((project) => project.id === this.selectedId)) {
      // The address wins (a reload or a shared link), then the project open last time.
      const wanted = this.route?.place.project ?? Number(localStorage.getItem(LAST_PROJECT_KEY));
      const fallback = this.items.find((project) => project.id === wanted) ?? this.items[0];
      this.selectedId = fallback?.id ?? null;
      if (fallback && this.route && this.route.place.project !== fallback.id)
        this.route.go({ project: fallback.id, tab: 'images', run: null }, true);
    }
  }

  /** Reloads one project's counts (after an import). */
  async refreshOne(id: number): Promise<void> {
    const project = await this.client.projects.get(id);
    this.items = this.items.map((item) => (item.id === id ? project : item));
  }

  /** Creates a project and opens it; rejects with the core's StudioError on bad input. */
  async create(input: CreateProject): Promise<Project> {
    const project = await this.client.projects.create(input);
    this.items = [project, ...this.items.filter((item) => item.id !== project.id)];
    this.select(project.id);
    return project;
  }

  /** Another project with this name (trimmed, ignoring case), to warn before it is used twice. */
  nameTaken(name: string, exceptId: number | null = null): Project | null {
    const wanted = name.trim().toLowerCase();
    return (
      this.items.find((project) => project.id !== exceptId && project.name.trim().toLowerCase() === wanted) ?? null
    );
  }

  /** Renames a project; the list is reloaded so every duplicate-name flag is right again. */
  async rename(id: number, name: string): Promise<Project> {
    const project = await this.client.projects.rename(id, name);
    this.items = await this.client.projects.list();
    return project;
  }

  /** What deleting a project would remove. */
  removal(id: number): Promise<ProjectRemoval> {
    return this.client.projects.removal(id);
  }

  /** Deletes a project and opens the next one in the list, if any. */
  async remove(id: number): Promise<void> {
    await this.client.projects.remove(id);
    const index = this.items.findIndex((project) => project.id === id);
    this.items = await this.client.projects.list();
    if (this.selectedId === id) {
      const next = this.items[Math.min(Math.max(index, 0), this.items.length - 1)];
      this.selectedId = next?.id ?? null;
      if (next) localStorage.setItem(LAST_PROJECT_KEY, String(next.id));
      // The deleted project's entry must not be reachable with Back: replace it.
      this.route?.go({ project: next?.id ?? null, tab: 'images', run: null }, true);
    }
  }

  /** Opens a project (on its Images tab, as a new history entry). */
  select(id: number): void {
    if (id !== this.selectedId) this.route?.go({ project: id, tab: 'images', run: null });
    this.show(id);
  }

  /** Shows a project without touching history (back/forward arrived there). */
  show(id: number): void {
    this.selectedId = id;
    localStorage.setItem(LAST_PROJECT_KEY, String(id));
  }
}

const KEY = Symbol('projects');

/** Provides the projects state; call once in the root component. */
export function setProjects(state: ProjectsState): ProjectsState {
  return setContext(KEY, state);
}

/** The projects state provided by the root component. */
export function useProjects(): ProjectsState {
  return getContext<ProjectsState>(KEY);
}
