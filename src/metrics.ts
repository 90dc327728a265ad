import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics served on GET /metrics. */
export interface Metrics {
  registry: Registry;
  requests: Counter<'verb' | 'outcome'>;
  commandSeconds: Histogram<'verb'>;
  decisions: Counter<'decision' | 'accepted'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'mk8s_' });
  return {
    registry,
    requests: new Counter({ name: 'mk8s_requests_total', help: 'Chat requests by verb and outcome', labelNames: ['verb', 'outcome'], registers: [registry] }),
    commandSeconds: new Histogram({
      name: 'mk8s_command_ack_seconds',
      help: 'Time from a chat command arriving to its answer',
      labelNames: ['verb'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5],
      registers: [registry],
    }),
    decisions: new Counter({ name: 'mk8s_decisions_total', help: 'Approval clicks by decision and whether they counted', labelNames: ['decision', 'accepted'], registers: [registry] }),
  };
}
