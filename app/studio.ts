/**
 * The studio core: implements every service of the contract over one workspace. Transports
 * (Electron IPC, serve mode, tests) wrap it with `createDispatcher`; it knows none of them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { StudioError, type StudioImpl, type TrainingCacheUsage } from './contract';
import { setVolumeCopies, sweepCopies, volumeCopiesDir } from './data/cache/volume-copies';
import { projectCopies, removeProjectCopies, type CopyOwners } from './data/cache/project-copies';
import { channelPlanView, checkPlanVolumes, leftOutChannels, validatePlan } from './data/channel-plan';
import { cacheUsage, deleteCache } from './data/cache/shards';
import { computeDatasetStats } from './data/dataset-stats';
import { importFolders, SUPPORTED_FORMATS, isImageFileName } from './data/import/import';
import { ImageWindows } from './data/image-window';
import { renderPlanThumbnails } from './data/plan-thumbnails';
import { stratifiedSplit } from './data/split';
import { checkFolders } from './data/import/walk';
import { exportServices } from './export/services';
import { embeddingServices } from './train/embeddings/services';
import { StudioEvents } from './rpc';
import { ensureEmbeddings } from './train/embeddings/ensure-embeddings';
import { evaluationServices } from './train/evaluation-services';
import { reprobeEmbeddings } from './train/reprobe';
import { StudioTraining, type TrainingHost } from './train/studio-training';
import { volumeServices } from './train/volume-services';
import { Workspace } from './workspace';
import { VERSION } from './version';

/** Optional capabilities a host adds (Electron gives a native folder dialog). */
export interface StudioHost {
  pickFolder?: () => Promise<string | null>;
  /** How training processes are made (default: `child_process.fork` of the built worker). */
  training?: TrainingHost;
  /** The built import worker thread (default: `import-worker.js` beside the running bundle, if any). */
  importWorkerPath?: string;
  /** The built embedding-map worker thread (default: `map-worker.js` beside the running bundle, if any). */
  mapWorkerPath?: string;
  /** The built embeddings worker thread (default: `embedding-worker.js` beside the running bundle, if any). */
  embeddingWorkerPath?: string;
}

/** The running core: the workspace, the event hub and the service implementation. */
export class Studio {
  readonly events = new StudioEvents();
  readonly workspace: Workspace;
  readonly training: StudioTraining;
  /** The contract's services, bound to this studio. */
  readonly services: StudioImpl;
  readonly #imports = new Map<string, AbortController>();
  readonly #windows = new ImageWindows();
  /** The project each running import writes to. */
  readonly #importProjects = new Map<string, number>();
  readonly #running = new Set<Promise<unknown>>();
  /** How to stop each background job (embeddings) when the studio closes. */
  readonly #stops = new Set<() => void>();

  constructor(
    workspaceDir: string,
    private readonly host: StudioHost = {},
  ) {
    this.workspace = new Workspace(workspaceDir);
    // Inflated .nii.gz copies go to the workspace's cache, within its size limit; those of files
    // changed or gone since, and leftovers of interrupted inflations, go now.
    setVolumeCopies(volumeCopiesDir(workspaceDir));
    sweepCopies();
    // Runs whose training process died while nothing watched it (app and worker killed together).
    this.workspace.runs.reapOrphans();
    this.training = new StudioTraining(this.workspace, this.events, host.training);
    this.services = {
      ...this.#coreServices,
      ...this.training.services,
      ...evaluationServices(() => this.workspace, this.training.processes),
      ...exportServices(() => this.workspace),
      ...volumeServices(() => this.workspace),
      ...embeddingServices(
        () => this.workspace,
        this.events,
        (job, stop) => {
          this.#stops.add(stop);
          this.#track(job.finally(() => this.#stops.delete(stop)));
        },
        this.host.mapWorkerPath,
        this.host.embeddingWorkerPath,
      ),
    };
  }

  readonly #coreServices: Omit<StudioImpl, 'training' | 'runs' | 'evaluation' | 'exports' | 'embeddings' | 'volumes'> =
    {
      system: {
        info: () => ({
          version: VERSION,
          workspace: this.workspace.root,
          platform: `${process.platform}-${process.arch}`,
          nativeFolderPicker: this.host.pickFolder !== undefined,
          supportedFormats: [...SUPPORTED_FORMATS],
        }),
      },
      projects: {
        list: () => this.workspace.projects.list(),
        get: (id) => this.workspace.projects.get(id),
        create: ({ name, domain }) => this.workspace.projects.create(name, domain),
        rename: (id, name) => this.workspace.projects.rename(id, name),
        removal: (id) => ({
          ...this.workspace.projects.removal(id),
          bytes: folderBytes(this.workspace.projectDir(id)),
        }),
        remove: (id) => {
          if ([...this.#importProjects.values()].includes(id)) {
            throw new StudioError(
              'CONFLICT',
              `project ${id} cannot be deleted while an import into it is running: cancel the import first`,
              { projectId: id },
            );
          }
          // Its volume copies before its rows go (copies another project imports stay).
          const owners = this.#copyOwners();
          const { training } = this.workspace.projects.removal(id);
          if (training.length === 0) removeProjectCopies(owners, id);
          this.workspace.projects.remove(id);
          // Only the project's own folder: image files are referenced in place and never touched.
          fs.rmSync(this.workspace.projectDir(id), { recursive: true, force: true });
        },
      },
      images: {
        list: (query) => {
          this.workspace.projects.require(query.projectId);
          return this.workspace.images.list(query);
        },
        get: (id) => this.workspace.images.get(id),
        labels: (projectId) => {
          this.workspace.projects.require(projectId);
          return this.workspace.images.labels(projectId);
        },
        failures: (projectId) => {
          this.workspace.projects.require(projectId);
          return this.workspace.images.failures(projectId);
        },
        window: (imageId, query) => this.#windows.read(this.workspace, imageId, query),
      },
      curation: {
        trainingCache: (projectId) => {
          this.workspace.projects.require(projectId);
          return this.#cacheUsage(projectId);
        },
        deleteTrainingCache: (projectId) => {
          const { training } = this.workspace.projects.removal(projectId);
          if (training.length > 0) {
            throw new StudioError(
              'CONFLICT',
              `the training cache of project ${projectId} is in use by run ${training.join(', ')}: stop it first`,
              { projectId, training },
            );
          }
          deleteCache(this.workspace.projectDir(projectId));
          removeProjectCopies(this.#copyOwners(), projectId);
          return this.#cacheUsage(projectId);
        },
        health: (projectId) => {
          this.workspace.projects.require(projectId);
          return this.workspace.curation.health(projectId, leftOutChannels(channelPlanView(this.workspace, projectId)));
        },
        setExcluded: (projectId, selection, excluded) => {
          this.workspace.projects.require(projectId);
          return { changed: this.workspace.curation.setExcluded(projectId, selection, excluded) };
        },
        setLabel: (projectId, selection, label) => {
          this.workspace.projects.require(projectId);
          return { changed: this.workspace.labels.set(projectId, selection, label, labelActor()).changed };
        },
        split: (projectId, { valFraction, seed }) => {
          this.workspace.projects.require(projectId);
          // Only the images the next run uses: the channel plan's left-out counts get no split.
          const leftOut = leftOutChannels(channelPlanView(this.workspace, projectId));
          const { train, val } = stratifiedSplit(
            this.workspace.curation.keptImages(projectId, leftOut),
            valFraction,
            seed,
          );
          this.workspace.curation.saveSplit(
            projectId,
            train.map((image) => image.id),
            val.map((image) => image.id),
          );
          return { train: train.length, val: val.length };
        },
        channelPlan: (projectId) => {
          this.workspace.projects.require(projectId);
          return channelPlanView(this.workspace, projectId);
        },
        setChannelPlan: (projectId, plan) => {
          this.workspace.projects.require(projectId);
          const view = channelPlanView(this.workspace, projectId);
          const valid = validatePlan(
            plan,
            view.groups.map((group) => group.channels),
            view.plan.inputChannels,
          );
          checkPlanVolumes(this.workspace, projectId, valid);
          this.workspace.channelPlans.savePlan(projectId, valid);
          return channelPlanView(this.workspace, projectId);
        },
        computeStats: async (projectId) => {
          this.workspace.projects.require(projectId);
          this.workspace.channelPlans.saveStats(projectId, await computeDatasetStats(this.workspace, projectId));
          return channelPlanView(this.workspace, projectId);
        },
        renderThumbnails: (projectId) => {
          this.workspace.projects.require(projectId);
          return renderPlanThumbnails(this.workspace, projectId, channelPlanView(this.workspace, projectId).plan);
        },
      },
      imports: {
        start: async (projectId, folders, options) => {
          this.workspace.projects.require(projectId);
          // Refuse a missing or non-folder path now, as the call's error, not later as an event.
          await checkFolders(folders);
          const importId = randomUUID();
          const controller = new AbortController();
          this.#imports.set(importId, controller);
          const job = this.runImport(importId, projectId, folders, controller.signal, options);
          this.#track(job);
          return { importId };
        },
        cancel: (importId) => {
          const controller = this.#imports.get(importId);
          if (!controller) throw new StudioError('NOT_FOUND', `no running import with id ${importId}`);
          controller.abort();
        },
      },
      files: {
        listDirectory: (dir) => listDirectory(dir ?? os.homedir()),
        pickFolder: () => {
          if (!this.host.pickFolder) {
            throw new StudioError('UNSUPPORTED', 'no native folder dialog here: use the folder browser');
          }
          return this.host.pickFolder();
        },
      },
      labels: {
        set: (projectId, selection, label) => {
          this.workspace.projects.require(projectId);
          return this.workspace.labels.set(projectId, selection, label, labelActor());
        },
        undo: (projectId) => {
          this.workspace.projects.require(projectId);
          return this.workspace.labels.undo(projectId);
        },
        history: (projectId, query) => {
          this.workspace.projects.require(projectId);
          return this.workspace.labels.history(projectId, query);
        },
        reprobe: async (probeRunId) => {
          // NOT_FOUND or CONFLICT here, naming the run; then the run's stored embeddings, computed first if need be.
          await ensureEmbeddings(this.services.embeddings, this.events, reprobeEmbeddings(this.workspace, probeRunId));
          return this.training.processes.reprobe(probeRunId);
        },
      },
    };

  /**
   * Imports folders and reports progress as events; the promise resolves with the result.
   * `workers`: worker threads (absent: one per core, 0: this thread only).
   */
  async runImport(
    importId: string,
    projectId: number,
    folders: string[],
    signal?: AbortSignal,
    options: { workers?: number } = {},
  ) {
    this.#importProjects.set(importId, projectId);
    try {
      const result = await importFolders({
        importId,
        projectId,
        folders,
        images: this.workspace.images,
        projectDir: this.workspace.projectDir(projectId),
        signal,
        onProgress: (progress) => this.events.emit('importProgress', progress),
        workers: options.workers,
        workerPath: this.host.importWorkerPath,
      });
      this.events.emit('importFinished', result);
      return result;
    } catch (error) {
      // The UI waits for importFinished: it must hear about a failure too.
      this.events.emit('importFinished', {
        importId,
        projectId,
        filesSeen: 0,
        imported: 0,
        samples: 0,
        skipped: 0,
        skippedFiles: [],
        duplicates: [],
        errors: [],
        seconds: 0,
        cancelled: false,
        error: error instanceof Error ? error.message : String(error),
      });
      throw error;
    } finally {
      this.#imports.delete(importId);
      this.#importProjects.delete(importId);
    }
  }

  /** The training cache of a project with the volume copies of its files. */
  #cacheUsage(projectId: number): TrainingCacheUsage {
    const copies = projectCopies(this.#copyOwners(), projectId);
    const usage = cacheUsage(this.workspace.projectDir(projectId));
    const bytes = usage.bytes + copies.bytes;
    return { projectId, ...usage, bytes, volumeCopies: copies.copies, volumeCopyBytes: copies.bytes };
  }

  #copyOwners(): CopyOwners {
    const { projects, images } = this.workspace;
    return {
      projectIds: () => projects.list().map((project) => project.id),
      importedPaths: (projectId, paths) => images.importedPaths(projectId, paths),
    };
  }

  #track(job: Promise<unknown>): void {
    const settled = job
      .catch((error) => console.error('[studio] import failed:', error))
      .finally(() => this.#running.delete(settled));
    this.#running.add(settled);
  }

  /** Waits for running jobs, then closes the workspace. */
  async close(): Promise<void> {
    for (const controller of this.#imports.values()) controller.abort();
    for (const stop of this.#stops) stop();
    await Promise.all(this.#running);
    await this.training.close();
    this.workspace.close();
  }
}

/** Who changes labels here: the account the studio runs as (recorded in the label history). */
function labelActor(): string {
  try {
    return os.userInfo().username || 'unknown';
  } catch {
    return 'unknown'; // no passwd entry for this uid (some containers)
  }
}

/** Bytes of the files under a folder (0 when it does not exist); symlinks are not followed. */
function folderBytes(dir: string): number {
  let total = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) total += folderBytes(file);
    else if (entry.isFile()) total += fs.statSync(file).size;
  }
  return total;
}

/** Sub-folders of a folder, for the in-app folder browser. */
function listDirectory(dir: string) {
  const resolved = path.resolve(dir);
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(resolved, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'ENOTDIR'
          ? 'is not a folder'
          : code === 'EACCES'
            ? 'cannot be read (permission denied)'
            : (error as Error).message;
    throw new StudioError('INVALID_ARGUMENT', `${resolved} ${why}`, { path: resolved });
  }
  const folders = entries
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => ({ name: entry.name, path: path.join(resolved, entry.name) }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const parent = path.dirname(resolved);
  return {
    path: resolved,
    parent: parent === resolved ? null : parent,
    entries: folders,
    imageFiles: entries.filter((entry) => entry.isFile() && isImageFileName(entry.name)).length,
  };
}
