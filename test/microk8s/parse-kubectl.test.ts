import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OutputParseError, WorkerNodeError } from '../../src/microk8s/errors.ts';
import { parseCordonOutput, parseDrainOutput, parseNodes, parsePods, parseWaitOutput } from '../../src/microk8s/parse-kubectl.ts';
import { parseEpoch, parseSha256sum, parseSha256sums, parseStatSize } from '../../src/microk8s/parse-misc.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const WORKER = 'This MicroK8s deployment is acting as a node in a cluster. Please use the microk8s kubectl on the master.\n';

describe('parseNodes', () => {
  it('keeps an InternalIP only when it is an IP address (it reaches nc, curl and the proxy files)', () => {
    const node = (address: string) => ({ kind: 'Node', apiVersion: 'v1', metadata: { name: 'k8s-1' }, status: { addresses: [{ type: 'InternalIP', address }] } });
    const hostile = ['-oProxyCommand=touch /tmp/pwned', '10.0.0.1 -e /bin/sh', '10.0.0.1;reboot', '$(reboot)', '10.0.0.1\n10.0.0.2', 'k8s-1', ''];
    for (const address of hostile) expect(parseNodes(JSON.stringify(node(address)))[0]?.internalIp, address).toBeUndefined();
    expect(parseNodes(JSON.stringify(node('10.0.0.11')))[0]?.internalIp).toBe('10.0.0.11');
    expect(parseNodes(JSON.stringify(node('fd00::11')))[0]?.internalIp).toBe('fd00::11');
  });

  it('reads names, Ready, cordoned, kubelet version, role and InternalIP', () => {
    const nodes = parseNodes(fixture('nodes.json'));
    expect(nodes.map((n) => [n.name, n.ready, n.unschedulable, n.role, n.internalIp])).toEqual([
      ['k8s-3', true, false, 'control-plane', '10.0.0.13'],
      ['k8s-2', false, false, 'control-plane', '10.0.0.12'],
      ['k8s-1', true, true, 'control-plane', '10.0.0.11'],
      ['w1', true, false, 'worker', '10.0.0.21'],
    ]);
    expect(nodes[2]?.kubeletVersion).toBe('v1.23.0-rc.0.2+f4d3c97c512f07');
    expect(nodes[0]?.labels['kubernetes.io/hostname']).toBe('k8s-3');
  });

  it('reads a single node (get node NAME -o json) and minimal objects', () => {
    const one = parseNodes(JSON.stringify({ kind: 'Node', apiVersion: 'v1', metadata: { name: 'k8s-1' }, status: {} }));
    expect(one).toEqual([{ name: 'k8s-1', ready: false, unschedulable: false, kubeletVersion: '', role: 'unknown', labels: {} }]);
  });

  it('tolerates a warning line before the JSON and trailing newlines', () => {
    const text = `W1124 10:00:00.000000   1234 warnings.go:70] something deprecated\n${fixture('nodes.json')}\n\n`;
    expect(parseNodes(text)).toHaveLength(4);
  });

  it('refuses a worker notice, non-JSON and the wrong shape', () => {
    expect(() => parseNodes(WORKER)).toThrow(WorkerNodeError);
    expect(() => parseNodes(WORKER)).toThrow(/worker node; run it on a control-plane node/);
    expect(() => parseNodes('The connection to the server 127.0.0.1:16443 was refused\n')).toThrow(/JSON from kubectl.*connection to the server/);
    expect(() => parseNodes('{"kind":"List","items":[{"metadata":{}}]}')).toThrow(/items\[0\].*metadata\.name/);
    expect(() => parseNodes('{"kind":"Pod","metadata":{"name":"x"}}')).toThrow(OutputParseError);
  });
});

describe('parsePods', () => {
  it('reads namespace, name, node, phase, DaemonSet and mirror pods', () => {
    const pods = parsePods(fixture('pods.json'));
    expect(pods).toHaveLength(7);
    expect(pods[0]).toEqual({ namespace: 'kube-system', name: 'calico-node-mhbqw', node: 'k8s-1', phase: 'Running', daemonSet: true, mirror: false });
    expect(pods[4]).toMatchObject({ name: 'static-web-k8s-1', mirror: true, daemonSet: false });
    expect(pods[5]).toMatchObject({ phase: 'Succeeded' });
    expect(pods[6]).toEqual({ namespace: 'default', name: 'pending-abc', phase: 'Pending', daemonSet: false, mirror: false });
  });

  it('reads an empty list', () => {
    expect(parsePods('{"apiVersion":"v1","items":[],"kind":"List","metadata":{"resourceVersion":""}}\n')).toEqual([]);
  });

  it('refuses garbage', () => {
    expect(() => parsePods('No resources found\n')).toThrow(OutputParseError);
    expect(() => parsePods(WORKER)).toThrow(WorkerNodeError);
  });
});

describe('parseDrainOutput', () => {
  it('reads the seed sample: every evicted pod with its namespace', () => {
    expect(parseDrainOutput(fixture('drain-seed.txt'), 'k8s-1').evicted).toEqual([
      'default/microbot-fdcc4594f-hkqrw',
      'kube-system/hostpath-provisioner-5c65fbdb4f-gfdpj',
      'kube-system/coredns-7f9c69c78c-nfd4b',
      'default/microbot-fdcc4594f-4vsrd',
    ]);
  });

  it('reads a drain of an empty node, and an already cordoned one', () => {
    expect(parseDrainOutput('node/k8s-2 cordoned\nnode/k8s-2 drained\n', 'k8s-2')).toEqual({ evicted: [] });
    expect(parseDrainOutput('node/k8s-2 already cordoned\nWarning: ignoring DaemonSet-managed Pods: kube-system/calico-node-x\nnode/k8s-2 drained\n', 'k8s-2')).toEqual({
      evicted: [],
    });
  });

  it('counts a pod once when kubectl retried its eviction, and only confirmed ones', () => {
    const text = [
      'node/k8s-1 cordoned',
      'evicting pod default/web-1',
      'evicting pod default/web-2',
      'error when evicting pods/"web-1" -n "default" (will retry after 5s): Cannot evict pod as it would violate the pod\'s disruption budget.',
      'evicting pod default/web-1',
      'pod/web-1 evicted',
      'pod/web-2 evicted',
      'node/k8s-1 drained',
    ].join('\n');
    expect(parseDrainOutput(text, 'k8s-1').evicted).toEqual(['default/web-1', 'default/web-2']);
  });

  it('reads old kubectl (quoted names, no namespace)', () => {
    expect(parseDrainOutput('node/k8s-1 cordoned\nevicting pod "web-1"\npod/web-1 evicted\nnode/k8s-1 evicted\n', 'k8s-1').evicted).toEqual(['web-1']);
  });

  it('refuses output about another node, a worker notice or nothing', () => {
    expect(() => parseDrainOutput('node/k8s-2 drained\n', 'k8s-1')).toThrow(/node\/k8s-1 cordoned/);
    expect(() => parseDrainOutput(WORKER, 'k8s-1')).toThrow(WorkerNodeError);
    expect(() => parseDrainOutput('', 'k8s-1')).toThrow(OutputParseError);
  });
});

describe('parseCordonOutput and parseWaitOutput', () => {
  it('reads cordon/uncordon, including already done', () => {
    expect(parseCordonOutput('node/k8s-1 cordoned\n', 'k8s-1', 'cordon')).toEqual({ changed: true });
    expect(parseCordonOutput('node/k8s-1 already cordoned\n', 'k8s-1', 'cordon')).toEqual({ changed: false });
    expect(parseCordonOutput('node/k8s-1 uncordoned\n', 'k8s-1', 'uncordon')).toEqual({ changed: true });
    expect(parseCordonOutput('node/k8s-1 already uncordoned\n', 'k8s-1', 'uncordon')).toEqual({ changed: false });
  });

  it('refuses the wrong node, the wrong verb, a worker notice', () => {
    expect(() => parseCordonOutput('node/k8s-2 uncordoned\n', 'k8s-1', 'uncordon')).toThrow(OutputParseError);
    expect(() => parseCordonOutput('node/k8s-1 cordoned\n', 'k8s-1', 'uncordon')).toThrow(OutputParseError);
    expect(() => parseCordonOutput(WORKER, 'k8s-1', 'uncordon')).toThrow(WorkerNodeError);
  });

  it('reads kubectl wait', () => {
    expect(() => parseWaitOutput('node/k8s-1 condition met\n', 'k8s-1')).not.toThrow();
    expect(() => parseWaitOutput('', 'k8s-1')).toThrow(/node\/k8s-1 condition met/);
    expect(() => parseWaitOutput('node/k8s-2 condition met\n', 'k8s-1')).toThrow(OutputParseError);
  });
});

describe('misc parsers', () => {
  const sum = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
  it('reads sha256sum output', () => {
    expect(parseSha256sum(`${sum}  /var/snap/microk8s/common/b.tar.gz\n`, '/var/snap/microk8s/common/b.tar.gz')).toBe(sum);
    expect(parseSha256sum(`${sum.toUpperCase()} */tmp/x\n`)).toBe(sum);
    expect(() => parseSha256sum('sha256sum: /x: No such file or directory\n', '/x')).toThrow(/64 hex digits/);
    expect(() => parseSha256sum(`${sum}  /other\n`, '/x')).toThrow(OutputParseError);
  });

  it('reads the digests of several files, none for a file it could not read or did not ask for', () => {
    const other = 'a'.repeat(64);
    const out = `${sum}  /a/calico.yaml\nsha256sum: /a/cni.yaml.backup: No such file or directory\n${other.toUpperCase()}  /a/cni.yaml\n${sum}  /elsewhere\nnot a line\n`;
    expect([...parseSha256sums(out, ['/a/calico.yaml', '/a/cni.yaml', '/a/cni.yaml.backup'])]).toEqual([['/a/calico.yaml', sum], ['/a/cni.yaml', other]]);
    expect(parseSha256sums('', ['/a'])).toEqual(new Map());
  });

  it('reads stat -c %s and date +%s', () => {
    expect(parseStatSize('123456\n')).toBe(123456);
    expect(() => parseStatSize('stat: cannot statx\n')).toThrow(OutputParseError);
    expect(parseEpoch('1700000000\n')).toBe(1_700_000_000);
    expect(parseEpoch('  1700000000  \r\n')).toBe(1_700_000_000);
    expect(parseEpoch('Welcome to the lab box!\n1700000000\n\n')).toBe(1_700_000_000);
    expect(() => parseEpoch('Fri Nov 24 10:00:00 UTC 2023\n')).toThrow(/seconds since 1970/);
    expect(() => parseEpoch('')).toThrow(OutputParseError);
  });
});
