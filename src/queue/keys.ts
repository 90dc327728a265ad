/** Every Redis key the bot owns, in one place. BullMQ's own keys live under the same prefix. */
export const PREFIX = 'mk8s';
export const QUEUE_NAME = 'jobs';
/** The watch's own queue (job schedulers, one per cluster): it never waits behind a job of the cluster. */
export const WATCH_QUEUE_NAME = 'watch';

export const keys = {
  /** First decision on a gate wins (SET NX): approve/reject by a person, or expiry. */
  decision: (jobId: string, gate: string) => `${PREFIX}:decision:${jobId}:${gate}`,
  /** Hash per multi-approver gate: approver → JSON ApprovalRecord (HSETNX: one approval per person). */
  approvals: (jobId: string, gate: string) => `${PREFIX}:approvals:${jobId}:${gate}`,
  /** Set by `cancel`; the job stops at the next step boundary. */
  cancel: (jobId: string) => `${PREFIX}:cancel:${jobId}`,
  /** The job's parent message in the channel (JSON MessageRef), written by whoever posts it. */
  parent: (jobId: string) => `${PREFIX}:parent:${jobId}`,
  /** Claim to post the parent message (bot at enqueue, or the worker if the bot never did). */
  parentClaim: (jobId: string) => `${PREFIX}:parent-claim:${jobId}`,
  auditStream: `${PREFIX}:audit`,
  /** One audit write (its random id), remembered for an hour: the same write sent again after a reconnect adds nothing. */
  auditWrite: (writeId: string) => `${PREFIX}:audit-write:${writeId}`,
  /** Hash per cluster: node name → JSON LostNode, the members a quorum recovery left behind (src/store/lost-nodes.ts). */
  lostNodes: (cluster: string) => `${PREFIX}:lost:${cluster}`,
  /** JSON CniBackupRecord: the cni.yaml backups of the cluster's last upgrade-cni (src/store/cni-backups.ts). */
  cniBackup: (cluster: string) => `${PREFIX}:cni-backup:${cluster}`,
  /** Liveness of the worker role, for /healthz. */
  workerHeartbeat: `${PREFIX}:worker-heartbeat`,
  /** Hash per cluster: node name → JSON NodeRecord, the snap state the bot last left the node in (src/store/node-records.ts). */
  nodeRecords: (cluster: string) => `${PREFIX}:nodes:${cluster}`,
  /** Commands a user sent in one minute (the per-user rate limit, src/bot/rate-limit.ts). */
  rateLimit: (user: string, minute: number) => `${PREFIX}:rate:${user}:${minute}`,
  /** BullMQ's hash of a job (its layout: `<prefix>:<queue>:<id>`, queue-keys.ts toKey). */
  bullJob: (jobId: string) => `${PREFIX}:${QUEUE_NAME}:${jobId}`,
  /** BullMQ's lock of an active job: the token of the worker processing it. */
  bullLock: (jobId: string) => `${PREFIX}:${QUEUE_NAME}:${jobId}:lock`,
  /** Hash per cluster: problem key → JSON OpenAlert, the watch's open alerts (src/watch/alerts.ts). */
  alerts: (cluster: string) => `${PREFIX}:alerts:${cluster}`,
  /** JSON WatchSnapshot: what the watch's last check saw (the App Home shows it). */
  watchSnapshot: (cluster: string) => `${PREFIX}:watch:snapshot:${cluster}`,
  /** One check per cluster at a time, whichever worker runs it (SET NX PX). */
  watchLock: (cluster: string) => `${PREFIX}:watch:lock:${cluster}`,
  /** Set of users who opened the App Home tab: republished when what it shows changes. */
  homeViewers: `${PREFIX}:home:viewers`,
} as const;

/** Keys that die with the job (decisions, cancel, parent) expire after this long anyway. */
export const JOB_KEY_TTL_SECONDS = 30 * 24 * 3600;
