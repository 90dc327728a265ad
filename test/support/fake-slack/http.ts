/**
 * The fake Slack's HTTP side (fake-slack.ts): the Web API (`POST /api/<method>`, args parsed
 * as WebClient sends them, the bearer token checked, latency and rate limits applied), the
 * upload URLs of files.getUploadURLExternal (`POST /upload/<id>`), and response URLs
 * (`POST /response/<id>`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isRecord } from './blocks.ts';
import type { Realism } from './realism.ts';
import type { FakeWorkspace } from './web-api.ts';

const JSON_ARGS = new Set(['blocks', 'attachments', 'files', 'metadata', 'file_uploads', 'view']);

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

/** The body of the first part of a multipart/form-data request (WebClient sends the file as one part). */
function firstMultipartPart(raw: Buffer, contentType: string): Buffer {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  const marker = boundary ? `--${boundary[1] ?? boundary[2] ?? ''}` : '';
  const start = raw.indexOf(marker);
  if (!marker || start < 0) return Buffer.alloc(0);
  const headersEnd = raw.indexOf('\r\n\r\n', start);
  const end = raw.indexOf(`\r\n${marker}`, headersEnd);
  if (headersEnd < 0 || end < 0) return Buffer.alloc(0);
  return raw.subarray(headersEnd + 4, end);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function parseJsonObject(text: string): Record<string, unknown> {
  const parsed: unknown = text ? JSON.parse(text) : {};
  if (!isRecord(parsed)) throw new Error('expected a JSON object');
  return parsed;
}

function parseArgs(raw: Buffer, contentType: string): Record<string, unknown> {
  const text = raw.toString('utf8');
  if (contentType.includes('application/json')) return parseJsonObject(text);
  const args: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(text)) {
    if (JSON_ARGS.has(k)) {
      try {
        args[k] = JSON.parse(v);
        continue;
      } catch {
        // leave as string
      }
    }
    args[k] = v;
  }
  return args;
}

/** The HTTP server (not yet listening); `responseStatus()` is what response URLs answer (200, or a failure). */
export function createFakeSlackServer(workspace: FakeWorkspace, realism: Realism, responseStatus: () => number): Server {
  const { calls, limited, pendingUploads, responses } = workspace;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const raw = await readBody(req);
    const contentType = req.headers['content-type'] ?? '';
    if (path.startsWith('/api/') && req.method === 'POST') {
      const method = path.slice('/api/'.length);
      const args = parseArgs(raw, contentType);
      const auth = req.headers.authorization;
      const token = auth?.startsWith('Bearer ') ? auth.slice(7) : typeof args.token === 'string' ? args.token : undefined;
      delete args.token;
      if (realism.latencyMs > 0) await new Promise((r) => setTimeout(r, realism.latencyMs));
      const wait = realism.retryAfter(method, args);
      if (wait > 0) {
        limited.push({ method, args, at: Date.now(), token });
        res.writeHead(429, { 'content-type': 'application/json; charset=utf-8', 'retry-after': String(wait) });
        res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
        return;
      }
      calls.push({ method, args, at: Date.now(), token });
      sendJson(res, 200, workspace.call(method, args, token));
      return;
    }
    if (path.startsWith('/upload/') && req.method === 'POST') {
      const id = path.slice('/upload/'.length);
      const pending = pendingUploads.get(id);
      if (!pending) {
        res.writeHead(404).end('unknown upload');
        return;
      }
      let bytes = raw;
      if (contentType.startsWith('multipart/form-data')) bytes = firstMultipartPart(raw, contentType);
      pending.bytes = bytes;
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${bytes.length}`);
      return;
    }
    if (path.startsWith('/response/') && req.method === 'POST') {
      const id = path.slice('/response/'.length);
      let body: Record<string, unknown>;
      try {
        body = parseArgs(raw, 'application/json');
      } catch {
        res.writeHead(400).end('invalid_payload');
        return;
      }
      const status = responseStatus();
      if (status !== 200) {
        res.writeHead(status).end('expired_url');
        return;
      }
      responses.push({ id, body, at: Date.now() });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    res.writeHead(404).end('not found');
  };

  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });
}
