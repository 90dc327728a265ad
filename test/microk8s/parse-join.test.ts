/** Parsers of `microk8s add-node` output and `microk8s join` errors, on real output formats (reference §1–2, the seed). */
import { describe, expect, it } from 'vitest';
import { joinCandidates, joinError, parseJoinUrls } from '../../src/microk8s/parse-join.ts';

const TOK = '92b2db237428470dc4fcfc4ebbd9dc81';
const FP = '2c0cb3284b05';

describe('parseJoinUrls', () => {
  it('reads the pretty format of the seed (1.23+), the default address first, without repeats', () => {
    const out = `From the node you wish to join to this cluster, run the following:
microk8s join 192.168.1.230:25000/${TOK}/${FP}

Use the '--worker' flag to join a node as a worker not running the control plane, eg:
microk8s join 192.168.1.230:25000/${TOK}/${FP} --worker

If the node you are adding is not reachable through the default interface you can use one of the following:
microk8s join 192.168.1.230:25000/${TOK}/${FP}
microk8s join 10.23.209.1:25000/${TOK}/${FP}
microk8s join 172.17.0.1:25000/${TOK}/${FP}
microk8s join fd00::10:25000/${TOK}/${FP}
`;
    const urls = parseJoinUrls(out);
    expect(urls.map((u) => u.host)).toEqual(['192.168.1.230', '10.23.209.1', '172.17.0.1', 'fd00::10']);
    expect(urls[0]).toEqual({ host: '192.168.1.230', port: 25000, token: TOK, fingerprint: FP, text: `192.168.1.230:25000/${TOK}/${FP}` });
    // IPv6 cannot be joined (join ≥ 1.30 rejects it); the controller's own address goes first
    expect(joinCandidates(urls, '10.23.209.1').map((u) => u.host)).toEqual(['10.23.209.1', '192.168.1.230', '172.17.0.1']);
  });

  it('reads the ≤1.22 format (leading spaces), json, yaml, and the seed\'s token-only form', () => {
    const old = `From the node you wish to join to this cluster, run the following:\nmicrok8s join 10.0.0.1:25000/${TOK}/${FP}\n\nIf the node you are adding is not reachable through the default interface you can use one of the following:\n microk8s join 10.0.0.1:25000/${TOK}/${FP}\n microk8s join 10.1.0.1:25000/${TOK}/${FP}\n`;
    expect(parseJoinUrls(old).map((u) => u.host)).toEqual(['10.0.0.1', '10.1.0.1']);
    const json = JSON.stringify({ token: `${TOK}/${FP}`, urls: [`10.0.0.1:25000/${TOK}/${FP}`, `fd00::10:25000/${TOK}/${FP}`] }, null, 2);
    expect(parseJoinUrls(json).map((u) => `${u.host}:${u.port}`)).toEqual(['10.0.0.1:25000', 'fd00::10:25000']);
    const yaml = `token: ${TOK}/${FP}\nurls:\n- 10.0.0.1:25000/${TOK}/${FP}\n- 172.17.0.1:25000/${TOK}/${FP}\n\n`;
    expect(parseJoinUrls(yaml).map((u) => u.host)).toEqual(['10.0.0.1', '172.17.0.1']);
    const bare = parseJoinUrls('microk8s join 10.128.63.86:25000/567a21bdfc9a64738ef4b3286b2b8a69');
    expect(bare).toEqual([{ host: '10.128.63.86', port: 25000, token: '567a21bdfc9a64738ef4b3286b2b8a69', text: '10.128.63.86:25000/567a21bdfc9a64738ef4b3286b2b8a69' }]);
    expect(parseJoinUrls('Restarting cluster-agent to load new server certificate\nnothing here: a/b')).toEqual([]);
  });
});

describe('joinError: the first real error of a join', () => {
  it('an agent refusal, with its status', () => {
    expect(joinError('Contacting cluster at 192.168.0.229\nConnection failed. The hostname (microk8s-vm) of the joining node does not resolve to the IP "192.168.0.213". Refusing join (400).\n', '', 6)).toBe(
      'Connection failed. The hostname (microk8s-vm) of the joining node does not resolve to the IP "192.168.0.213". Refusing join (400).',
    );
    expect(joinError('Contacting cluster at 10.0.0.1\nConnection failed. Invalid token (500)\n', '', 6)).toBe('Connection failed. Invalid token (500)');
  });

  it('a message over two lines is kept whole; warnings and progress are skipped', () => {
    const out = "WARNING: Hostpath storage is enabled and is not suitable for multi node clusters.\n\nContacting cluster at 10.0.0.1\nConnection failed. Failed to join the cluster. This is an HA dqlite cluster.\nPlease retry after enabling HA on this joining node with 'microk8s enable ha-cluster' (501).\n";
    expect(joinError(out, '', 6)).toBe("Connection failed. Failed to join the cluster. This is an HA dqlite cluster. Please retry after enabling HA on this joining node with 'microk8s enable ha-cluster' (501).");
  });

  it('a traceback gives its exception, and the first known error wins over a later one', () => {
    const tb = 'Traceback (most recent call last):\n  File "/snap/microk8s/2551/scripts/cluster/join.py", line 130, in get_connection_info\n    conn.connect()\nConnectionRefusedError: [Errno 111] Connection refused\n';
    expect(joinError('Contacting cluster at 10.0.0.1\n', tb, 1)).toBe('ConnectionRefusedError: [Errno 111] Connection refused');
    expect(joinError('Contacting cluster at 10.0.0.1\nJoining process failed. Make sure the cluster you connect to supports joining worker nodes.\nInvalid token\n', '', 1)).toBe(
      'Joining process failed. Make sure the cluster you connect to supports joining worker nodes.',
    );
    expect(joinError('', '', 137)).toBe('exit code 137 with no output');
  });
});
