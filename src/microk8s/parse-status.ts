/**
 * `microk8s status` in its three formats: pretty (default), `--format yaml` (hand-printed,
 * Python `True`/`False`, not always valid YAML), and `--format short`. Also the one-line
 * answers: stopped, not ready, worker node, low-memory guard.
 */
import { OutputParseError } from './errors.ts';
import { outputLines } from './parse-snap.ts';
import type { HaMember, MicroK8sAddon, MicroK8sStatus } from './types.ts';

const ROLES: readonly HaMember['role'][] = ['voter', 'standby', 'spare'];

function role(text: string | undefined): HaMember['role'] | undefined {
  const r = text?.trim().toLowerCase();
  return ROLES.find((x) => x === r);
}

function pyBool(text: string | undefined): boolean | undefined {
  const t = text?.trim().toLowerCase();
  if (t === 'true' || t === 'yes') return true;
  if (t === 'false' || t === 'no') return false;
  return undefined;
}

/**
 * microk8s prints its values bare; a value in quotes can only come from a YAML dumper (another
 * build, a wrapper): read `'1.10'` and `"CoreDNS: fast"` as what they quote, not with the quotes.
 */
function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) return value.slice(1, -1).replaceAll("''", "'");
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (typeof parsed === 'string') return parsed;
    } catch {
      // not a JSON string (a YAML-only escape): the text between the quotes
    }
    return value.slice(1, -1);
  }
  return value;
}

function parseYaml(lines: string[], text: string): MicroK8sStatus {
  const cmd = 'microk8s status --format yaml';
  let running: boolean | undefined;
  let ha: boolean | undefined;
  let message: string | undefined;
  const members: HaMember[] = [];
  const addons: MicroK8sAddon[] = [];
  let section = '';
  let subsection = '';
  let pendingAddress: string | undefined;
  let addon: Partial<MicroK8sAddon> & { status?: string } = {};
  const flushAddon = (): void => {
    if (addon.name) {
      const a: MicroK8sAddon = { name: addon.name, enabled: addon.status === 'enabled' };
      if (addon.repository) a.repository = addon.repository;
      if (addon.version) a.version = addon.version;
      if (addon.description) a.description = addon.description;
      addons.push(a);
    }
    addon = {};
  };
  for (const line of lines) {
    if (line.trim() === '') continue;
    const top = /^([A-Za-z][\w-]*):(.*)$/.exec(line);
    if (top?.[1]) {
      flushAddon();
      section = top[1];
      subsection = '';
      continue;
    }
    const kv = /^(\s*)(-\s+)?([\w/-]+):\s?(.*)$/.exec(line);
    if (!kv?.[3]) continue; // description text that broke the format, or noise
    const indent = (kv[1] ?? '').length;
    const key = kv[3];
    const value = unquote((kv[4] ?? '').trim());
    if (key === 'message' && indent <= 2) {
      message = value;
      continue;
    }
    if (section === 'microk8s' && key === 'running') running = pyBool(value);
    else if (section === 'high-availability') {
      if (indent <= 2 && !kv[2]) subsection = key;
      if (key === 'enabled' && indent <= 2) ha = pyBool(value);
      else if (subsection === 'nodes' && key === 'address') pendingAddress = value;
      else if (subsection === 'nodes' && key === 'role' && pendingAddress) {
        const r = role(value);
        if (r) members.push({ address: pendingAddress, role: r });
        pendingAddress = undefined;
      }
    } else if (section === 'addons') {
      if (kv[2]) flushAddon();
      if (key === 'name') addon.name = value;
      else if (key === 'repository') addon.repository = value;
      else if (key === 'status') addon.status = value;
      else if (key === 'version') addon.version = value;
      else if (key === 'description') addon.description = value;
      else if (indent === 2 && !kv[2] && key.includes('/')) {
        // deprecated `--yaml` short form: `  core/dns: enabled`
        const [repo, name] = key.split('/');
        if (repo && name) addons.push({ name, repository: repo, enabled: value === 'enabled' });
      }
    }
  }
  flushAddon();
  if (running === undefined) throw OutputParseError.of(cmd, '"microk8s:" with "running: True" or "running: False"', text);
  const status: MicroK8sStatus = { running, members };
  if (ha !== undefined) status.highAvailability = ha;
  if (message !== undefined) status.message = message;
  if (addons.length > 0) status.addons = addons;
  return status;
}

function parsePretty(lines: string[], text: string): MicroK8sStatus {
  const first = lines.findIndex((l) => /^microk8s is running$/.test(l.trim()));
  if (first < 0) {
    throw OutputParseError.of('microk8s status', '"microk8s is running" or "microk8s is not running…"', text);
  }
  const status: MicroK8sStatus = { running: true, members: [] };
  const addons: MicroK8sAddon[] = [];
  let addonState: boolean | undefined;
  for (const line of lines.slice(first + 1)) {
    const t = line.trim();
    const ha = /^high-availability:\s*(yes|no)$/.exec(t);
    if (ha) {
      status.highAvailability = ha[1] === 'yes';
      continue;
    }
    const ds = /^datastore (master|standby) nodes:(.*)$/.exec(t);
    if (ds) {
      const r: HaMember['role'] = ds[1] === 'master' ? 'voter' : 'standby';
      for (const addr of (ds[2] ?? '').split(/\s+/)) {
        if (addr !== '' && addr !== 'none') status.members.push({ address: addr, role: r });
      }
      continue;
    }
    if (t === 'enabled:' || t === 'disabled:') {
      addonState = t === 'enabled:';
      continue;
    }
    // pretty: `    dns                  # (core) CoreDNS` (no `(core)` before 1.24)
    const pretty = /^([a-z0-9][\w.-]*)\s+#\s*(?:\(([\w-]+)\))?/.exec(t);
    if (pretty?.[1] && addonState !== undefined) {
      const a: MicroK8sAddon = { name: pretty[1], enabled: addonState };
      if (pretty[2]) a.repository = pretty[2];
      addons.push(a);
      continue;
    }
    // short: `core/dns: enabled` or `dns: enabled`
    const short = /^(?:([\w-]+)\/)?([a-z0-9][\w.-]*):\s+(enabled|disabled)$/.exec(t);
    if (short?.[2]) {
      const a: MicroK8sAddon = { name: short[2], enabled: short[3] === 'enabled' };
      if (short[1]) a.repository = short[1];
      addons.push(a);
    }
  }
  if (addons.length > 0) status.addons = addons;
  return status;
}

/** Any format of `microk8s status` → running, HA, datastore members (and addons when listed). */
export function parseStatus(text: string): MicroK8sStatus {
  const lines = outputLines(text);
  const body = lines.filter((l) => l.trim() !== '');
  const joined = body.join('\n');
  if (/This MicroK8s deployment is acting as a node in a cluster/.test(joined)) {
    return { running: false, worker: true, members: [], message: 'This MicroK8s deployment is acting as a node in a cluster.' };
  }
  if (/does not have enough RAM to host the Kubernetes control plane/.test(joined)) {
    return { running: false, members: [], message: 'microk8s is stopped by the low-memory guard (not enough RAM for the control plane)' };
  }
  if (body.some((l) => /^microk8s:\s*$/.test(l))) return parseYaml(lines, text);
  const notRunning = body.find((l) => l.trim().startsWith('microk8s is not running'));
  if (notRunning && !body.some((l) => /^microk8s is running$/.test(l.trim()))) {
    return { running: false, members: [], message: notRunning.trim() };
  }
  return parsePretty(lines, text);
}
