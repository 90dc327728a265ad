/**
 * The fake Slack's Socket Mode (fake-slack.ts): the WebSocket that apps.connections.open
 * hands out, on the same HTTP server. On connect it sends `hello`, like Slack; `send` sends
 * an envelope and resolves with the app's ack.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { FakeSlack, SocketAck } from '../fake-slack.ts';
import { isRecord, strOf } from './blocks.ts';
import { parseJsonObject } from './http.ts';

type WaitFor = FakeSlack['waitFor'];

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** Serves `/socket` upgrades of `server`; `waitFor` is the fake's (send waits for an open socket). */
export function attachSocketMode(server: Server, waitFor: WaitFor): Omit<FakeSlack['socketMode'], 'url'> & { close(): Promise<void> } {
  const wss = new WebSocketServer({ noServer: true });
  const sockets = new Set<WebSocket>();
  const acks = new Map<string, (ack: SocketAck) => void>();
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (path !== '/socket') {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('message', (data) => {
        let msg: Record<string, unknown>;
        try {
          msg = parseJsonObject(rawText(data));
        } catch {
          return;
        }
        const envelopeId = strOf(msg.envelope_id);
        const resolve = envelopeId ? acks.get(envelopeId) : undefined;
        if (envelopeId && resolve) {
          acks.delete(envelopeId);
          resolve({ envelope_id: envelopeId, ...(isRecord(msg.payload) ? { payload: msg.payload } : {}) });
        }
      });
      ws.send(
        JSON.stringify({
          type: 'hello',
          num_connections: sockets.size,
          debug_info: { host: 'fake-slack', build_number: 1, approximate_connection_time: 18060 },
          connection_info: { app_id: 'A0FAKE' },
        }),
      );
    });
  });

  return {
    connections: () => sockets.size,
    drop: () => {
      for (const ws of sockets) ws.terminate();
    },
    send: async (envelope, timeoutMs = 5000) => {
      const ws = await waitFor(() => [...sockets].find((s) => s.readyState === s.OPEN), timeoutMs);
      const envelope_id = envelope.envelope_id ?? randomUUID();
      const full = {
        envelope_id,
        type: envelope.type,
        payload: envelope.payload,
        accepts_response_payload: envelope.accepts_response_payload ?? envelope.type === 'slash_commands',
        ...(envelope.type === 'events_api' ? { retry_attempt: 0, retry_reason: '' } : {}),
      };
      return new Promise<SocketAck>((resolve, reject) => {
        const timer = setTimeout(() => {
          acks.delete(envelope_id);
          reject(new Error(`fake-slack: envelope ${envelope_id} (${envelope.type}) was not acked within ${timeoutMs} ms`));
        }, timeoutMs);
        acks.set(envelope_id, (ack) => {
          clearTimeout(timer);
          resolve(ack);
        });
        ws.send(JSON.stringify(full));
      });
    },
    close: async () => {
      for (const ws of sockets) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
