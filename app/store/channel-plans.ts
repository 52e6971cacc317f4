/** The `channel_plans` table: one saved channel plan and its dataset statistics per project. */
import type { ChannelPlan, DatasetChannelStats } from '../contract';
import type { Db } from './database';

/** What is stored for a project; null parts were never saved. */
export interface StoredChannelPlan {
  plan: ChannelPlan | null;
  stats: DatasetChannelStats | null;
}

/** Repository over `channel_plans`. */
export class ChannelPlanStore {
  constructor(private readonly db: Db) {}

  get(projectId: number): StoredChannelPlan {
    const row = this.db.prepare('SELECT plan, stats FROM channel_plans WHERE project_id = ?').get(projectId) as
      | { plan: string | null; stats: string | null }
      | undefined;
    return {
      plan: row?.plan ? (JSON.parse(row.plan) as ChannelPlan) : null,
      stats: row?.stats ? (JSON.parse(row.stats) as DatasetChannelStats) : null,
    };
  }

  savePlan(projectId: number, plan: ChannelPlan): void {
    this.db
      .prepare(
        `INSERT INTO channel_plans (project_id, plan, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (project_id) DO UPDATE SET plan = excluded.plan, updated_at = excluded.updated_at`,
      )
      .run(projectId, JSON.stringify(plan), new Date().toISOString());
  }

  saveStats(projectId: number, stats: DatasetChannelStats | null): void {
    this.db
      .prepare(
        `INSERT INTO channel_plans (project_id, stats, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (project_id) DO UPDATE SET stats = excluded.stats, updated_at = excluded.updated_at`,
      )
      .run(projectId, stats ? JSON.stringify(stats) : null, new Date().toISOString());
  }
}
