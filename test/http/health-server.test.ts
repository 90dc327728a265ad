import { describe, expect, it } from 'vitest';
import { startHealthServer } from '../../src/http/health-server.ts';

describe('startHealthServer (standalone /healthz and /metrics, for Socket Mode and the console)', () => {
  it('binds a free port for PORT=0 and answers /healthz 200/503 and /metrics', async () => {
    let ok = true;
    const server = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      health: async () => ({ ok, detail: { redis: ok ? 'up' : 'down', roles: ['bot', 'worker'] } }),
      metrics: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'mk8s_jobs_total 3\n' }),
    });
    const base = `http://127.0.0.1:${server.port}`;
    try {
      expect(server.port).toBeGreaterThan(0);
      const up = await fetch(`${base}/healthz`);
      expect(up.status).toBe(200);
      expect(await up.json()).toEqual({ ok: true, redis: 'up', roles: ['bot', 'worker'] });
      ok = false;
      const down = await fetch(`${base}/healthz?verbose=1`);
      expect(down.status).toBe(503);
      expect(await down.json()).toEqual({ ok: false, redis: 'down', roles: ['bot', 'worker'] });
      const m = await fetch(`${base}/metrics`);
      expect(m.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(await m.text()).toBe('mk8s_jobs_total 3\n');
      expect((await fetch(`${base}/nope`)).status).toBe(404);
      expect((await fetch(`${base}/healthz`, { method: 'POST' })).status).toBe(405);
    } finally {
      await server.close();
    }
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    await server.close(); // a second close is harmless
  });

  it('hides why a check or the metrics failed', async () => {
    const server = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      health: async () => {
        throw new Error('redis://:s3cret@10.0.0.9 refused');
      },
      metrics: async () => {
        throw new Error('registry s3cret broken');
      },
    });
    try {
      const h = await fetch(`http://127.0.0.1:${server.port}/healthz`);
      expect(h.status).toBe(503);
      const m = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(m.status).toBe(500);
      expect((await h.text()) + (await m.text())).not.toContain('s3cret');
    } finally {
      await server.close();
    }
  });

  it('rejects when the port is taken', async () => {
    const first = await startHealthServer({ port: 0, host: '127.0.0.1', health: async () => ({ ok: true, detail: {} }), metrics: async () => ({ contentType: 'text/plain', body: '' }) });
    try {
      await expect(
        startHealthServer({ port: first.port, host: '127.0.0.1', health: async () => ({ ok: true, detail: {} }), metrics: async () => ({ contentType: 'text/plain', body: '' }) }),
      ).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await first.close();
    }
  });
});
