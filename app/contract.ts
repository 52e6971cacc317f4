/**
 * The one typed API between the studio core and every UI transport.
 *
 * Each service is a table of methods; each method names its argument schema (validated at the
 * boundary by every transport) and, as a phantom type, its result. From this single declaration
 * we derive: the channel list the preload accepts, the `ipcMain` bindings, the serve-mode router,
 * and the renderer's client (`createClient` below). Nothing here touches Node, Electron or the DOM,
 * so the renderer may import it.
 */
import { z } from 'zod';
import {
  FolderPath,
  Id,
  ImageSelection as ImageSelectionSchema,
  LabelValue,
  method,
  returns,
  type MethodSpec,
  type Returns,
} from './contract-method';
import {
  DOMAINS,
  type Project,
  type ImageDetail,
  type DatasetHealth,
  type ImagePage,
  type LabelCount,
  type ImportFailure,
  type ImportResult,
  type ImportProgress,
  type DirectoryListing,
  type SystemInfo,
} from './contract-data';
import { downstreamEvents, downstreamServices } from './contract-downstream';
import { embeddingEvents, embeddingServices } from './contract-embeddings';
import { ImageWindowQuery, type ImageWindow, type ProjectRemoval, type TrainingCacheUsage } from './contract-images';
import { runServices, trainingEvents } from './contract-runs';
import { trainingServices } from './contract-training';
import { ChannelPlanSchema, type ChannelPlanView } from './contract-channels';
import { labelServices } from './contract-labels';
import { volumeServices } from './contract-volumes';
import { volumeRunServices } from './contract-volume-runs';

export type { MethodSpec, Returns } from './contract-method';
export * from './contract-data';
export * from './contract-images';
export * from './contract-training';
export * from './contract-runs';
export * from './contract-estimates';
export * from './contract-recipes';
export * from './contract-downstream';
export * from './contract-embeddings';
export * from './contract-channels';
export * from './contract-labels';
export * from './contract-volumes';
export * from './contract-volume-runs';

// ---------------------------------------------------------------------------------------------
// Argument schemas

/** A project name: trimmed, 1–200 characters of well-formed Unicode (no lone surrogates, no NUL). */
const ProjectName = z
  .string()
  .trim()
  .min(1, 'a project needs a name')
  .max(200)
  .refine(
    (name) => name.isWellFormed() && !name.includes('\u0000'),
    'a project name must be well-formed text without NUL characters',
  );

export const IMAGE_SORTS = ['path', 'label', 'size', 'imported', 'channels', 'bitDepth'] as const;

const ImageQuery = z.strictObject({
  projectId: Id,
  offset: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(2000).default(200),
  sort: z.enum(IMAGE_SORTS).default('path'),
  label: z.string().max(512).nullable().optional(),
  search: z.string().max(512).optional(),
  status: z.enum(['all', 'ok', 'failed']).default('ok'),
  /** Only images of one split ('none': not assigned). */
  split: z.enum(['train', 'val', 'none']).optional(),
  /** Only images left out of training, or only those kept. */
  excluded: z.boolean().optional(),
  /** Only images under this folder. */
  folder: z.string().max(4096).optional(),
  channels: z.number().int().min(1).max(1024).optional(),
  format: z.string().max(32).optional(),
});
export type ImageQuery = z.input<typeof ImageQuery>;

const CreateProject = z.strictObject({
  name: ProjectName,
  domain: z.enum(DOMAINS).default('general'),
});
export type CreateProject = z.input<typeof CreateProject>;

export type ImageSelection = z.input<typeof ImageSelectionSchema>;
const SplitOptions = z.strictObject({
  valFraction: z.number().min(0).max(0.9).default(0.1),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31)
    .default(0),
});
export type SplitOptions = z.input<typeof SplitOptions>;

// ---------------------------------------------------------------------------------------------
// Services

/** How an import runs; every field optional (absent: the default). */
const ImportStartOptions = z.strictObject({
  /** Worker threads decoding, hashing and thumbnailing; absent: one per core; 0: none (one thread). */
  workers: z.number().int().min(0).max(256).optional(),
});

/** How an import runs (`imports.start`'s options). */
export type ImportStartOptions = z.infer<typeof ImportStartOptions>;

/** Every call the UI can make, grouped by service. */

export const services = {
  system: {
    info: method(z.tuple([]), returns<SystemInfo>()),
  },
  projects: {
    list: method(z.tuple([]), returns<Project[]>()),
    get: method(z.tuple([Id]), returns<Project>()),
    create: method(z.tuple([CreateProject]), returns<Project>()),
    rename: method(z.tuple([Id, ProjectName]), returns<Project>()),
    /** What `remove` would delete, for the confirmation. */
    removal: method(z.tuple([Id]), returns<ProjectRemoval>()),
    /** Deletes the project's rows and its folder (thumbnails, checkpoints, exports); never image files. */
    remove: method(z.tuple([Id]), returns<void>()),
  },
  images: {
    list: method(z.tuple([ImageQuery]), returns<ImagePage>()),
    get: method(z.tuple([Id]), returns<ImageDetail>()),
    labels: method(z.tuple([Id]), returns<LabelCount[]>()),
    failures: method(z.tuple([Id]), returns<ImportFailure[]>()),
    /** Real values of a window of an image (or another frame of its file), for the viewer. */
    window: method(z.tuple([Id, ImageWindowQuery]), returns<ImageWindow>()),
  },
  curation: {
    /** Counts, histograms, label balance, duplicates and failures of a project's dataset. */
    health: method(z.tuple([Id]), returns<DatasetHealth>()),
    /** Leaves images (by id, or a whole folder) out of training, or takes them back. */
    setExcluded: method(z.tuple([Id, ImageSelectionSchema, z.boolean()]), returns<{ changed: number }>()),
    /**
     * Sets (or clears, with null) the label of images: as `labels.set`, an override of the folder label kept in the
     * history.
     */
    setLabel: method(z.tuple([Id, ImageSelectionSchema, LabelValue]), returns<{ changed: number }>()),
    /** Assigns a seeded train/val split, stratified by label, to the kept images. */
    split: method(z.tuple([Id, SplitOptions]), returns<{ train: number; val: number }>()),
    channelPlan: method(z.tuple([Id]), returns<ChannelPlanView>()),
    setChannelPlan: method(z.tuple([Id, ChannelPlanSchema]), returns<ChannelPlanView>()),
    /** Computes per-band dataset statistics once (streaming; huge images sampled) and stores them. */
    computeStats: method(z.tuple([Id]), returns<ChannelPlanView>()),
    /** Redraws thumbnails with the plan's display bands and contrast. */
    renderThumbnails: method(z.tuple([Id]), returns<{ rendered: number; failed: number }>()),
    /** Size of the project's decoded training cache. */
    trainingCache: method(z.tuple([Id]), returns<TrainingCacheUsage>()),
    /**
     * Deletes the decoded training cache (refused while a run of the project trains); the next run prepares it again.
     */
    deleteTrainingCache: method(z.tuple([Id]), returns<TrainingCacheUsage>()),
  },
  imports: {
    /** Starts importing folders into a project; progress arrives as `importProgress` events. */
    start: method(
      z.tuple([Id, z.array(FolderPath).min(1).max(64), ImportStartOptions.optional()]),
      returns<{ importId: string }>(),
    ),
    cancel: method(z.tuple([z.string().min(1).max(64)]), returns<void>()),
  },
  files: {
    /** Lists sub-folders for the in-app folder browser (home folder when no path is given). */
    listDirectory: method(z.tuple([FolderPath.optional()]), returns<DirectoryListing>()),
    /** Opens the system folder dialog; null when cancelled. Only where `nativeFolderPicker`. */
    pickFolder: method(z.tuple([]), returns<string | null>()),
  },
  training: { ...trainingServices, ...volumeRunServices },
  runs: runServices,
  ...downstreamServices,
  ...labelServices,
  ...embeddingServices,
  ...volumeServices,
} as const;

/** Every event the UI can hear, with its payload type. */
export const events = {
  importProgress: returns<ImportProgress>(),
  importFinished: returns<ImportResult>(),
  ...trainingEvents,
  ...downstreamEvents,
  ...embeddingEvents,
} as const;

export type Services = typeof services;
export type ServiceName = keyof Services;
export type EventName = keyof typeof events;
export type EventPayload<E extends EventName> = (typeof events)[E] extends Returns<infer T> ? T : never;

type ResultOf<M> = M extends MethodSpec<z.ZodTuple, infer R> ? R : never;
type ArgsOf<M> = M extends MethodSpec<infer A, unknown> ? z.input<A> : never;
type ParsedArgsOf<M> = M extends MethodSpec<infer A, unknown> ? z.output<A> : never;

/** The API as the UI calls it: every method async, arguments as the user may write them. */
export type StudioApi = {
  [S in ServiceName]: {
    [M in keyof Services[S]]: (...args: ArgsOf<Services[S][M]>) => Promise<ResultOf<Services[S][M]>>;
  };
};

/** The API as the core implements it: arguments arrive validated, with defaults filled in. */
export type StudioImpl = {
  [S in ServiceName]: {
    [M in keyof Services[S]]: (
      ...args: ParsedArgsOf<Services[S][M]>
    ) => Promise<ResultOf<Services[S][M]>> | ResultOf<Services[S][M]>;
  };
};

export type Channel = {
  [S in ServiceName]: `${S & string}.${keyof Services[S] & string}`;
}[ServiceName];

/** Every method channel, `service.method`; the preload refuses any other. */
export const CHANNELS: readonly Channel[] = Object.entries(services).flatMap(([service, methods]) =>
  Object.keys(methods).map((name) => `${service}.${name}` as Channel),
);

/** Every event name; the preload subscribes to no other. */
export const EVENTS: readonly EventName[] = Object.keys(events) as EventName[];

/** Looks up a channel's method spec; undefined for an unknown channel. */
export function methodSpec(channel: string): MethodSpec | undefined {
  const [service, name, extra] = channel.split('.');
  if (extra !== undefined || !service || !name || !Object.hasOwn(services, service)) return undefined;
  const table = services[service as ServiceName] as Record<string, MethodSpec>;
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Errors and the wire

export const ERROR_CODES = [
  'INVALID_ARGUMENT',
  'UNKNOWN_METHOD',
  'NOT_FOUND',
  'CONFLICT',
  'UNSUPPORTED',
  'UNAUTHORIZED',
  /** The disk refused a write: full, over quota or file size limit, read-only. */
  'STORAGE',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** An error as it crosses any transport. */
export interface ErrorShape {
  code: ErrorCode;
  message: string;
  details?: unknown;
}

/** A typed error: thrown by the core, rethrown by the client on the UI side. */
export class StudioError extends Error implements ErrorShape {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'StudioError';
  }

  toJSON(): ErrorShape {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** What every transport carries back for a call. */
export type Reply<T = unknown> = { ok: true; value: T } | { ok: false; error: ErrorShape };

/** The two primitives a transport offers; the typed client is built over them. */
export interface Transport {
  invoke(channel: Channel, args: unknown[]): Promise<Reply>;
  subscribe(event: EventName, listener: (payload: unknown) => void): () => void;
}

/** The renderer's client: the typed API plus event subscription, over any transport. */
export type StudioClient = StudioApi & {
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
};

/** Builds the typed client over a transport; a failed call rejects with a `StudioError`. */
export function createClient(transport: Transport): StudioClient {
  const client: Record<string, unknown> = {
    on: (event: EventName, listener: (payload: unknown) => void) => transport.subscribe(event, listener),
  };
  for (const channel of CHANNELS) {
    const [service, name] = channel.split('.') as [string, string];
    const table = (client[service] ??= {}) as Record<string, unknown>;
    table[name] = async (...args: unknown[]) => {
      const reply = await transport.invoke(channel, args);
      if (reply.ok) return reply.value;
      throw new StudioError(reply.error.code, reply.error.message, reply.error.details);
    };
  }
  return client as StudioClient;
}
