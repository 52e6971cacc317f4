/**
 * A workspace directory: `studio.sqlite` plus `projects/<id>/{thumbs,checkpoints,exports}`.
 * The app, the CLI and serve mode all open it through here.
 */
import os from 'node:os';
import path from 'node:path';
import { realFileInside } from './safe-path';
import { ChannelPlanStore } from './store/channel-plans';
import { CurationStore } from './store/curation';
import { openDatabase, type Db } from './store/database';
import { ExportStore } from './store/exports';
import { ImageStore } from './store/images';
import { LabelStore } from './store/labels';
import { ProjectStore } from './store/projects';
import { RunStore } from './store/runs';

/** An open workspace and its repositories. */
export class Workspace {
  readonly db: Db;
  readonly projects: ProjectStore;
  readonly images: ImageStore;
  readonly runs: RunStore;
  readonly curation: CurationStore;
  readonly labels: LabelStore;
  readonly channelPlans: ChannelPlanStore;
  readonly exports: ExportStore;

  constructor(readonly root: string) {
    this.root = path.resolve(root);
    this.db = openDatabase(this.root);
    this.projects = new ProjectStore(this.db);
    this.images = new ImageStore(this.db);
    this.runs = new RunStore(this.db);
    this.curation = new CurationStore(this.db);
    this.labels = new LabelStore(this.db);
    this.channelPlans = new ChannelPlanStore(this.db);
    this.exports = new ExportStore(this.db);
  }

  /** The folder of one project's derived files (thumbnails, checkpoints, exports). */
  projectDir(projectId: number): string {
    return path.join(this.root, 'projects', String(projectId));
  }

  /**
   * Absolute path of an image's thumbnail, or null. Only paths inside the project folder are
   * ever returned, whatever the database holds, so no transport can be made to serve other files.
   */
  thumbnailFile(imageId: number): string | null {
    const row = this.images.thumbnail(imageId);
    if (!row?.thumbnail) return null;
    return realFileInside(this.projectDir(row.projectId), row.thumbnail);
  }

  close(): void {
    this.db.close();
  }
}

/** The app's default workspace: Electron's userData folder for "MAE Studio" on this platform. */
export function defaultWorkspace(): string {
  if (process.env.MAE_STUDIO_WORKSPACE) return process.env.MAE_STUDIO_WORKSPACE;
  const home = os.homedir();
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'MAE Studio');
  if (process.platform === 'win32')
    return path.join(process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'MAE Studio');
  return path.join(process.env.XDG_CONFIG_HOME ?? path.join(home, '.config'), 'MAE Studio');
}
