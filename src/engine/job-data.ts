import type { MessageRef } from '../chat/port.ts';
import type { JobRequest, Json, PlanStep } from './runbook.ts';

/** The states people and scripts read in the parent message (DESIGN.md chat contract). */
export const CHAT_STATES = ['queued', 'running', 'awaiting approval', 'succeeded', 'failed', 'rejected', 'expired', 'cancelled'] as const;
export type ChatState = (typeof CHAT_STATES)[number];
export const FINAL_STATES: ReadonlySet<ChatState> = new Set(['succeeded', 'failed', 'rejected', 'expired', 'cancelled']);

export interface StepRecord {
  title: string;
  /** running: started, not known to have ended (a crash → it runs again); failed: ended with `error`. */
  status: 'running' | 'done' | 'failed';
  result?: Json;
  /** The failure, replayed as the same error when the runbook runs again (e.g. after a choice gate). */
  error?: string;
  startedAt: number;
  endedAt?: number;
  /** The step's line in the thread, updated when it ends. */
  msgTs?: string;
  /** How many times it started (more than 1 → it was in flight during a crash). */
  runs: number;
}

export type Decision = 'approved' | 'rejected' | 'expired' | 'chosen';

/** One button of a choice gate ("Retry the step", "Roll back this node", "Stop"). */
export interface ChoiceOption {
  id: string;
  label: string;
  style?: 'primary' | 'danger';
  /** Who may pick it: an operator (default), or an approver under the two-person rule (destructive options). */
  role?: 'operator' | 'approver';
  /** Shows a confirm dialog before the click counts. */
  destructive?: boolean;
}

export interface GateRecord {
  title: string;
  destructive: boolean;
  createdAt: number;
  expiresAt: number;
  msgTs?: string;
  /** Random, made with the gate and carried by its buttons: a click counts only with it. */
  nonce?: string;
  /**
   * approval (Approve / Reject), choice (one button per option), or wait: parked until
   * `expiresAt` (a maintenance window opens, a scheduled start comes), which is its
   * normal end; its options end it early ("Start now").
   */
  kind?: 'approval' | 'choice' | 'wait';
  options?: ChoiceOption[];
  decision?: Decision;
  /** The option picked, for a choice gate. */
  choice?: string;
  by?: string;
  at?: number;
  /** Approvals needed from different approvers, none of them the requester (absent: one). */
  approvals?: number;
  /** Digest of what the approvers were shown (e.g. a proposed cluster.yaml), recorded with every approval. */
  binding?: string;
  /** Who approved a multi-approver gate, in order (the last one opened it). */
  approvedBy?: ApprovalRecord[];
  /** What the gate shows, kept for a multi-approver gate so its message can be redrawn after each approval. */
  view?: { what: string; why?: string; nodes?: string[]; plan?: PlanStep[] };
}

/** One approval of a multi-approver gate. */
export interface ApprovalRecord {
  by: string;
  at: number;
  /** The gate's binding the approver saw. */
  binding?: string;
}

/** What a later `rollback` needs to know about a node the job refreshed. */
export interface RollbackInfo {
  node: string;
  revision: string;
  version: string;
  channel: string;
  wasCordoned: boolean;
}

/**
 * A job's data in Redis: the request and the checkpoints. No secrets, no large
 * output. Only the worker that holds the job writes it: its steps one field each, the rest whole
 * (job-steps.ts; BullMQ's updateData replaces, it does not merge).
 */
export interface JobData {
  requestId: string;
  request: JobRequest;
  state: ChatState;
  /** Loaded from the job's hash fields (job-steps.ts); stored empty in BullMQ's `data`. */
  steps: Record<string, StepRecord>;
  /** How many steps are recorded (as stored: `steps` is empty in BullMQ's `data`). */
  stepCount?: number;
  gates: Record<string, GateRecord>;
  parent?: MessageRef;
  activations: number;
  rollback?: RollbackInfo;
  /** Last outcome line, shown by `jobs` and in the audit channel (while parked for a window: when it starts). */
  summary?: string;
  /** Silent checkpoints (RunContext.memo): decisions that must replay the same, such as "was the window open". */
  marks?: Record<string, Json>;
  /** `--now` was approved: the maintenance windows no longer hold this job back. */
  windowOverride?: boolean;
}

export function newJobData(requestId: string, request: JobRequest): JobData {
  return { requestId, request, state: 'queued', steps: {}, gates: {}, activations: 0 };
}

export interface DecisionRecord {
  decision: Decision;
  choice?: string;
  by: string;
  at: number;
  /** Every approver of a multi-approver gate, in order. */
  approvers?: ApprovalRecord[];
}
