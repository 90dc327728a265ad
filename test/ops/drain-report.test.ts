import { describe, expect, it } from 'vitest';
import type { KubePod } from '../../src/microk8s/types.ts';
import { movedPods, renderMoved } from '../../src/ops/drain-report.ts';

const pod = (namespace: string, name: string, node: string | undefined, phase = 'Running'): KubePod => ({ namespace, name, node, phase, daemonSet: false, mirror: false });

describe('where evicted pods went', () => {
  it('pairs each evicted pod with a new pod of the same controller, once', () => {
    const before = [pod('default', 'nginx-7848d4b86f-aaaaa', 'k8s-2'), pod('default', 'nginx-7848d4b86f-bbbbb', 'k8s-2'), pod('default', 'nginx-7848d4b86f-ccccc', 'k8s-1'), pod('db', 'web-0', 'k8s-2'), pod('default', 'lonely', 'k8s-2')];
    const after = [
      pod('default', 'nginx-7848d4b86f-ccccc', 'k8s-1'),
      pod('default', 'nginx-7848d4b86f-xxxxx', 'k8s-1'),
      pod('default', 'nginx-7848d4b86f-yyyyy', undefined, 'Pending'),
      pod('db', 'web-0', 'k8s-3'),
    ];
    const moved = movedPods(['default/nginx-7848d4b86f-aaaaa', 'default/nginx-7848d4b86f-bbbbb', 'web-0', 'default/lonely'], before, after, 'k8s-2');
    expect(moved).toEqual([
      { evicted: 'default/nginx-7848d4b86f-aaaaa', replacement: 'default/nginx-7848d4b86f-xxxxx', node: 'k8s-1', phase: 'Running' },
      { evicted: 'default/nginx-7848d4b86f-bbbbb', replacement: 'default/nginx-7848d4b86f-yyyyy', phase: 'Pending' },
      { evicted: 'web-0', replacement: 'db/web-0', node: 'k8s-3', phase: 'Running' },
      { evicted: 'default/lonely' },
    ]);
    const text = renderMoved(moved);
    expect(text.startsWith('```\n') && text.endsWith('\n```')).toBe(true);
    expect(text).toContain('default/nginx-7848d4b86f-aaaaa  →  k8s-1  (default/nginx-7848d4b86f-xxxxx, Running)');
    expect(text).toContain('not scheduled yet');
    expect(text).toContain('no replacement seen yet');
  });

  it('keeps a long list short', () => {
    const many = Array.from({ length: 50 }, (_, i) => ({ evicted: `default/p-${i}` }));
    const text = renderMoved(many, 40);
    expect(text.split('\n').length).toBe(43);
    expect(text).toContain('… and 10 more');
    expect(renderMoved([])).toBe('no pods needed to move');
  });
});
