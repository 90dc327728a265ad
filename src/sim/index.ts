/** The simulated MicroK8s cluster (tests and `npm run demo`; never production). */
export { startSimCluster } from './cluster.ts';
export type { SimCluster, SimClusterOptions, SimNodeInfo, SimNodeSpec } from './cluster.ts';
export type { SimLatency } from './context.ts';
export { DEFAULT_LATENCY } from './context.ts';
export type { SimFault } from './faults.ts';
export type { SimCommandRecord } from './runner.ts';
export { SimNode } from './node.ts';
export { SimState } from './state.ts';
export type { SimRevision, SimHistoryEntry, DqliteRole, ReadyCondition } from './node.ts';
export type { SimPod, SimPodOwner } from './state.ts';
export { CHANNELS, DEFAULT_CHANNEL, parseChannel, resolveChannel, channelDisplayName, type ChannelRelease } from './catalogue.ts';
export { parseShellWords, shellQuote } from './shell.ts';
export { generateEd25519 } from './ssh-server.ts';
export { SimStoreProxy, SNAP_PROXY_NAME, releaseOfRevision, nodeProxyStore, type SimSnapProxyInfo } from './snap-proxy.ts';
export { inspectFlags, type InspectFlags } from './inspect.ts';
export { simMembership, type MembershipHandle } from './membership.ts';
export type { IssuedToken, JoinAttempt } from './membership/world.ts';
