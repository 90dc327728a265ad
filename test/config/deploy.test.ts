/**
 * docker-compose.yml and deploy/ (plain Kubernetes manifests) against the environment
 * contract (src/config/env.ts) and the inventory format: every variable they set is one the
 * bot reads and parses, the roles are split (one bot, workers), the files the environment
 * names are mounted from the ConfigMap and Secret that hold them, and the probes hit /healthz.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { chatMode, ENV_NAMES, parseEnv } from '../../src/config/env.ts';
import { parseInventory } from '../../src/config/inventory.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** What .env / the Slack Secret hold in a real deployment. */
const SLACK = { SLACK_BOT_TOKEN: 'xoxb-placeholder', SLACK_SIGNING_SECRET: 'placeholder' };

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(obj) : []);

describe('docker-compose.yml: the split deployment', () => {
  const doc = obj(parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }));
  const services = obj(doc.services);
  const apps = Object.entries(services).filter(([name]) => name !== 'redis');

  it('runs one bot, two workers and Redis with AOF and noeviction', () => {
    const roles = apps.map(([, s]) => obj(obj(s).environment).MK8S_ROLE);
    expect(roles.map(String).toSorted((a, b) => a.localeCompare(b))).toEqual(['bot', 'worker', 'worker']);
    const redis = (obj(services.redis).command as string[]).join(' ');
    expect(redis).toContain('--appendonly yes');
    expect(redis).toContain('--maxmemory-policy noeviction');
  });

  it('sets only variables of the environment contract, and each service parses with its role', () => {
    for (const [name, s] of apps) {
      const env = Object.fromEntries(Object.entries(obj(obj(s).environment)).map(([k, v]) => [k, String(v)]));
      expect(Object.keys(env).filter((k) => !ENV_NAMES.includes(k)), name).toEqual([]);
      const parsed = parseEnv({ ...SLACK, ...env });
      expect(parsed.REDIS_URL, name).toBe('redis://redis:6379');
      expect(chatMode(parsed), name).toBe('slack-http');
      expect(obj(s).env_file, name).toBe('.env');
      // the inventory and the backups are in mounted volumes
      const mounts = (obj(s).volumes as string[]).map((v) => v.split(':')[1]);
      expect(mounts, name).toContain(dirname(parsed.MK8S_INVENTORY));
      expect(mounts, name).toContain(parsed.MK8S_BACKUP_DIR);
    }
    expect(apps.filter(([, s]) => obj(obj(s).environment).MK8S_ROLE === 'bot').every(([, s]) => Array.isArray(obj(s).ports))).toBe(true);
  });
});

describe('deploy/: Kubernetes manifests', () => {
  const docs = readdirSync(join(ROOT, 'deploy'))
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseAllDocuments(readFileSync(join(ROOT, 'deploy', f), 'utf8')).map((d) => obj(d.toJS())));
  const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
  const named = (kind: string, name: string) => byKind(kind).find((d) => obj(d.metadata).name === name);
  const deployments = byKind('Deployment');

  it('has a Deployment for the bot and one for the workers, a Secret for Slack and the SSH key, a ConfigMap for the inventory', () => {
    const roles = deployments.map((d) => {
      const c = arr(obj(obj(obj(d.spec).template).spec).containers)[0];
      return arr(c?.env).find((e) => e.name === 'MK8S_ROLE')?.value;
    });
    expect(roles.map(String).toSorted((a, b) => a.localeCompare(b))).toEqual(['bot', 'worker']);
    expect(byKind('Secret').map((s) => Object.keys(obj(s.stringData)).toSorted())).toEqual([['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET'], ['id_ed25519']]);
    expect(Object.keys(obj(byKind('ConfigMap')[0]?.data))).toContain('inventory.yml');
  });

  for (const role of ['bot', 'worker']) {
    it(`${role}: environment, mounts and probes match the contract`, () => {
      const d = deployments.find((x) => JSON.stringify(x).includes(`"value":"${role}"`));
      const pod = obj(obj(obj(d?.spec).template).spec);
      const c = arr(pod.containers)[0] ?? {};
      const env: Record<string, string> = {};
      for (const e of arr(c.env)) env[String(e.name)] = String(e.value);
      for (const from of arr(c.envFrom)) {
        const secret = named('Secret', String(obj(from.secretRef).name));
        expect(secret, 'envFrom names a Secret in deploy/').toBeDefined();
        Object.assign(env, obj(secret?.stringData));
      }
      expect(Object.keys(env).filter((k) => !ENV_NAMES.includes(k))).toEqual([]);
      const parsed = parseEnv(env);
      expect(parsed.MK8S_ROLE).toBe(role);
      expect(chatMode(parsed)).toBe('slack-http');

      // probes: GET /healthz on the container port that is PORT
      const port = arr(c.ports).find((p) => p.containerPort === parsed.PORT);
      expect(port).toBeDefined();
      for (const probe of [obj(c.readinessProbe), obj(c.livenessProbe)]) {
        expect(obj(probe.httpGet).path).toBe('/healthz');
        expect([port?.name, port?.containerPort]).toContain(obj(probe.httpGet).port);
      }

      // every file the environment and the inventory name is in a mounted ConfigMap or Secret
      const volumes = arr(pod.volumes);
      const mounts = arr(c.volumeMounts);
      const fileAt = (path: string): string | undefined => {
        const mount = mounts.find((m) => dirname(path) === m.mountPath);
        const vol = volumes.find((v) => v.name === mount?.name);
        const cm = vol?.configMap ? named('ConfigMap', String(obj(vol.configMap).name)) : undefined;
        const secret = vol?.secret ? named('Secret', String(obj(vol.secret).secretName)) : undefined;
        const data = obj(cm?.data ?? secret?.stringData);
        const value = data[basename(path)];
        return typeof value === 'string' ? value : undefined;
      };
      const inventoryText = fileAt(parsed.MK8S_INVENTORY);
      expect(inventoryText, parsed.MK8S_INVENTORY).toBeDefined();
      const inventory = parseInventory(inventoryText!, parsed.MK8S_INVENTORY);
      for (const cluster of Object.values(inventory.clusters)) {
        expect(fileAt(cluster.ssh.knownHostsPath), cluster.ssh.knownHostsPath).toBeDefined();
        expect(fileAt(cluster.ssh.privateKeyPath!), cluster.ssh.privateKeyPath).toBeDefined();
      }
      expect(mounts.some((m) => m.mountPath === parsed.MK8S_BACKUP_DIR)).toBe(true);
    });
  }

  it('gives a worker time to finish its running step on SIGTERM', () => {
    const worker = deployments.find((x) => obj(x.metadata).name === 'mk8s-ops-worker');
    expect(Number(obj(obj(obj(worker?.spec).template).spec).terminationGracePeriodSeconds)).toBeGreaterThanOrEqual(300);
  });
});
