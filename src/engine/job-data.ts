import type { MessageRef } from '../chat/port.ts';
import type { JobRequest, Json } from './runbook.ts';

/** The states people and scripts read in the parent message (DESIGN.md chat contract). */
export const CHAT_STATES = ['queued', 'running', 'awaiting approval', 'succeeded', 'failed', 'rejected', 'expired', 'cancelled'] as const;
export type ChatState = (typeof CHAT_STATES)[number];
export const FINAL_STATES: ReadonlySet<ChatState> = new Set(['succeeded', 'failed', 'rejected', 'expired', 'cancelled']);

export interface StepRecord {
  title: string;
  status: 'running' | 'done';
  result?: Json;
  startedAt: number;
  endedAt?: number;
  /** The step's line in the thread, updated when it ends. */
  msgTs?: string;
  /** How many times it started (more than 1 → it was in flight during a crash). */
  runs: number;
}

export type Decision = 'approved' | 'rejected' | 'expired';

export interface GateRecord {
  title: string;
  destructive: boolean;
  createdAt: number;
  expiresAt: number;
  msgTs?: string;
  decision?: Decision;
  by?: string;
  at?: number;
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
 * output. Only the worker that holds the job writes it, always whole
 * (BullMQ's updateData replaces, it does not merge).
 */
export interface JobData {
  requestId: string;
  request: JobRequest;
  state: ChatState;
  steps: Record<string, StepRecord>;
  gates: Record<string, GateRecord>;
  parent?: MessageRef;
  activations: number;
  rollback?: RollbackInfo;
  /** Last outcome line, shown by `jobs` and in the audit channel. */
  summary?: string;
}

export function newJobData(requestId: string, request: JobRequest): JobData {
  return { requestId, request, state: 'queued', steps: {}, gates: {}, activations: 0 };
}

export interface DecisionRecord {
  decision: Decision;
  by: string;
  at: number;
}
