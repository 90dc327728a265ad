import { describe, expect, it } from 'vitest';
import { Count, JobId, NodeName, SnapChannel } from '../../src/commands/validators.ts';
import { parseChannel } from '../../src/microk8s/channels.ts';

const message = (r: { success: boolean; error?: { issues: { message: string }[] } }): string | undefined => r.error?.issues[0]?.message;

describe('validators', () => {
  it('NodeName accepts DNS-1123 labels only', () => {
    for (const ok of ['k8s-1', 'a', 'w1', 'x'.repeat(63)]) expect(NodeName.safeParse(ok).success).toBe(true);
    for (const bad of ['K8s', '-a', 'a-', 'a_b', 'a.b', 'x'.repeat(64), '']) {
      expect(message(NodeName.safeParse(bad))).toMatch(/is not a node name: use lowercase letters, digits and '-'/);
    }
  });

  it('SnapChannel: track/risk[/branch], with a specific message per mistake', () => {
    for (const ok of ['1.23/stable', '1.23/candidate', 'latest/beta', 'latest/edge', '1.30/edge/fix-1']) {
      expect(SnapChannel.safeParse(ok).success, ok).toBe(true);
    }
    expect(message(SnapChannel.safeParse('1.23/stabel'))).toBe("unknown risk 'stabel'; use stable, candidate, beta or edge (did you mean 1.23/stable?)");
    expect(message(SnapChannel.safeParse('1.23'))).toMatch(/^add the risk to '1.23': 1.23\/stable, /);
    expect(message(SnapChannel.safeParse('stable'))).toMatch(/has no track/);
    expect(message(SnapChannel.safeParse('1.27-strict/stable'))).toMatch(/unknown track '1.27-strict'/);
    expect(message(SnapChannel.safeParse('1.23/stable/a/b'))).toMatch(/too many parts/);
    expect(message(SnapChannel.safeParse('1.23/stable/Bad'))).toMatch(/bad branch 'Bad'/);
    expect(message(SnapChannel.safeParse('1.23/'))).toMatch(/unknown risk ''/);
  });

  it('parses with the one channel parser (src/microk8s/channels.ts)', () => {
    expect(parseChannel('1.23/stable')).toEqual({ name: '1.23/stable', track: '1.23', risk: 'stable', major: 1, minor: 23 });
    expect(parseChannel('latest/edge/x')).toEqual({ name: 'latest/edge/x', track: 'latest', risk: 'edge', branch: 'x' });
  });

  it('JobId and Count', () => {
    expect(JobId.safeParse('42').success).toBe(true);
    expect(message(JobId.safeParse('4a'))).toMatch(/not a job id/);
    const n = Count(1, 200).default(20);
    expect(n.parse(undefined)).toBe(20);
    expect(n.parse('7')).toBe(7);
    expect(n.parse(200)).toBe(200);
    expect(message(n.safeParse('-1'))).toBe("'-1' is not a whole number from 1 to 200");
    expect(message(n.safeParse('1.5'))).toMatch(/not a whole number/);
    expect(message(n.safeParse('99999999999'))).toMatch(/not a whole number/);
  });
});
