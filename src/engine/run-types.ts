/** The shapes a runbook hands the run context (gates, plan approvals, step options) and its dependencies. */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.ts';
import type { ChatPort } from '../chat/port.ts';
import type { Clock } from '../schedule/clock.ts';
import type { SshPool } from '../ssh/pool.ts';
import type { Json, PlanStep } from './runbook.ts';

export interface GateSpec {
  title: string;
  /** What will happen, in one or two sentences. */
  what: string;
  /** Why a person must approve (for destructive gates: what cannot be undone). */
  why?: string;
  nodes?: string[];
  plan?: PlanStep[];
  destructive?: boolean;
  /** When the gate expires, if not after the policy's approvalTtl (epoch ms, the bot's clock). */
  expiresAt?: number;
  /**
   * Approvals needed from different approvers, none of them the requester (default 1). Each one
   * is recorded and shown on the gate ("1 of 2 approvals"); the job wakes at the last.
   */
  approvals?: number;
  /** A digest of what is approved (shown on the gate, recorded with each approval); the runbook re-checks it. */
  binding?: string;
}

/** The plan gate of a runbook: the gate, shown with the plan the runbook declared (run.setPlan). */
export interface PlanApproval extends Omit<GateSpec, 'plan'> {
  /**
   * Re-reads what the plan depended on, once it is approved (its own step, titled
   * RECHECK_TITLE): throws a RunbookFailure saying what changed when the plan no longer holds.
   */
  recheck?: () => Promise<Json | void>;
  /** Ask even when the cluster's policy says `approvePlan: false` (restarts, destructive plans). */
  always?: boolean;
}

/** The title of the re-check step after a plan approval. */
export const RECHECK_TITLE = 're-check what the plan depended on';

/** What `run.attempt` returns: the value, or the failure (never the engine's own control flow). */
export type Attempt<T> = { ok: true; value: T } | { ok: false; error: unknown };

export interface StepOptions<T> {
  /** A short line for the thread once the step is done ("sha256 3fa1…"). */
  describe?: (result: T) => string;
}

export interface EngineDeps {
  redis: Redis;
  chat: ChatPort;
  audit: AuditLog;
  logger: Logger;
  backupDir: string;
  /** The bot's clock (maintenance windows, scheduled starts, gate expiry); default the system clock. */
  clock?: Clock;
  /** The process's warm SSH pool; without one, each job opens (and closes) its own connections. */
  ssh?: SshPool;
  /** True once the process is shutting down (SIGTERM): a job hands itself back before its next step. */
  stopping?: () => boolean;
}
