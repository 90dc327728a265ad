/**
 * GET /healthz and GET /metrics.
 *
 *   const server = await startHealthServer({ port: env.PORT, health, metrics });
 *   server.port;          // the bound port (PORT=0 → a free one)
 *   await server.close();
 *
 * Standalone (plain node:http) for Socket Mode and the console, where nothing
 * else listens on PORT. In Slack HTTP mode the same handlers are mounted as
 * Bolt customRoutes next to /slack/events (see healthRoutes).
 *
 * /healthz answers 200 with `{ ok: true, ... }` when health().ok, else 503;
 * a health() that throws counts as not ok (its message is not shown).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Server } from 'node:net';

export interface HealthReport {
  ok: boolean;
  detail: Record<string, unknown>;
}

export type HealthCheck = () => Promise<HealthReport>;
export type MetricsSource = () => Promise<{ contentType: string; body: string }>;

export interface HealthHandlers {
  healthz: (req: IncomingMessage, res: ServerResponse) => void;
  metrics: (req: IncomingMessage, res: ServerResponse) => void;
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}

export function healthRoutes(health: HealthCheck, metrics: MetricsSource): HealthHandlers {
  return {
    healthz: (_req, res) => {
      health().then(
        (report) => send(res, report.ok ? 200 : 503, 'application/json', JSON.stringify({ ok: report.ok, ...report.detail })),
        () => send(res, 503, 'application/json', JSON.stringify({ ok: false, error: 'health check failed' })),
      );
    },
    metrics: (_req, res) => {
      metrics().then(
        (m) => send(res, 200, m.contentType, m.body),
        () => send(res, 500, 'text/plain', 'metrics unavailable\n'),
      );
    },
  };
}

/** The port a listening server is bound to. */
export function boundPort(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server is not listening on a TCP port');
  return address.port;
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export interface HealthServerOptions {
  port: number;
  /** Default: all interfaces, as PORT is meant for probes from outside. */
  host?: string;
  health: HealthCheck;
  metrics: MetricsSource;
}

export async function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  const routes = healthRoutes(opts.health, opts.metrics);
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain', 'method not allowed\n');
    } else if (path === '/healthz') {
      routes.healthz(req, res);
    } else if (path === '/metrics') {
      routes.metrics(req, res);
    } else {
      send(res, 404, 'text/plain', 'not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = boundPort(server);
  let closed: Promise<void> | undefined;
  return {
    port,
    close: () => {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
