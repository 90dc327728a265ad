/**
 * The Snap Store Proxy steps (src/ops/snap-proxy.ts): pin and unpin a channel, connect a node,
 * check the pin from a node that uses the proxy — each reads first and runs nothing twice.
 */
import { describe, expect, it } from 'vitest';
import { checkPinFromNode, connectNode, describeOverrides, describeRolloutPin, pinChannel, pinForRollout, pinPlanStep, readProxyIdentity, unpinChannel } from '../../src/ops/snap-proxy.ts';
import { SNAP_PROXY_NAME } from '../../src/sim/index.ts';
import { useOpsRig } from '../support/ops-rig.ts';

describe('snap-proxy steps', () => {
  const rig = useOpsRig({ nodes: [{ name: 'k8s-1' }, { name: 'k8s-2' }], snapProxy: true });
  const proxy = () => rig.sim.snapProxy!.proxy;

  it('pins a channel to a revision and reads it back; the same pin again runs nothing', async () => {
    const r = await rig.run((run) => pinChannel(run, '1.23/stable', '2948'));
    expect(r).toMatchObject({ channel: '1.23/stable', revision: '2948', previous: null, changed: true });
    expect(proxy().overrides.get('1.23/stable')?.revision).toBe(2948);
    expect(rig.commands(SNAP_PROXY_NAME)).toEqual(['snap-proxy list-overrides microk8s', 'snap-proxy override microk8s 1.23/stable=2948', 'snap-proxy list-overrides microk8s']);
    const again = await rig.run((run) => pinChannel(run, '1.23/stable', '2948'));
    expect(again).toMatchObject({ previous: '2948', changed: false });
    expect(rig.commands(SNAP_PROXY_NAME)).toEqual(['snap-proxy list-overrides microk8s']);
  });

  it('connects a node to the proxy (store assertion, proxy.store); a connected node is skipped', async () => {
    const id = await rig.run((run) => readProxyIdentity(run));
    expect(id).toMatchObject({ storeId: proxy().storeId, domain: proxy().domain });
    const r = await rig.run((run) => connectNode(run, 'k8s-1', id));
    expect(r.skipped).toBe(false);
    expect(r.assertionBytes).toBeGreaterThan(0);
    expect(rig.commands('k8s-1').at(-1)).toBe(`snap set core proxy.store=${id.storeId}`);
    expect(await rig.run((run) => connectNode(run, 'k8s-1', id))).toEqual({ assertionBytes: 0, skipped: true });
    expect(rig.commands('k8s-1')).toEqual(['snap get core proxy.store']);
  });

  it('checks the pin from a node that uses the proxy, and names the nodes a rollout pin does not hold', async () => {
    expect(await rig.run((run) => checkPinFromNode(run, '1.23/stable', '2948'))).toEqual({ node: 'k8s-1', revision: '2948' });
    expect(rig.commands('k8s-1')).toEqual(['snap get core proxy.store', 'snap info microk8s']);
    const pin = await rig.run((run) => pinForRollout(run, '1.23/stable', '2948', ['k8s-1', 'k8s-2']));
    expect(pin).toMatchObject({ changed: false, notUsing: ['k8s-2'] });
    expect(describeRolloutPin(pin)).toBe('1.23/stable already pinned to 2948; ⚠️ not held by the pin (they do not use the proxy): k8s-2');
    expect(describeRolloutPin({ ...pin, changed: true, previous: '2906', notUsing: [] })).toBe('1.23/stable pinned to 2948 (was 2906); every node uses the proxy');
  });

  it('unpins a channel so it follows upstream again; unpinning an unpinned channel runs nothing', async () => {
    const r = await rig.run((run) => unpinChannel(run, '1.23/stable'));
    expect(r).toMatchObject({ channel: '1.23/stable', was: '2948', changed: true });
    expect(proxy().overrides.has('1.23/stable')).toBe(false);
    expect(rig.commands(SNAP_PROXY_NAME)).toContain('snap-proxy delete-override microk8s 1.23/stable');
    expect(await rig.run((run) => unpinChannel(run, '1.23/stable'))).toEqual({ channel: '1.23/stable', was: null, upstream: null, changed: false });
    expect(rig.commands(SNAP_PROXY_NAME)).toEqual(['snap-proxy list-overrides microk8s']);
  });

  it('words the overrides and plans a pin as the seed types it', () => {
    expect(describeOverrides([])).toBe('no overrides: every channel follows upstream');
    expect(describeOverrides([{ channel: '1.23/stable', revision: '2906', arch: 'amd64', upstream: '2948' }, { channel: 'stable', revision: '3000', arch: 'arm64', upstream: null }] as Parameters<typeof describeOverrides>[0])).toBe(
      '1.23/stable → 2906 (upstream 2948), stable → 3000 (arm64)',
    );
    expect(pinPlanStep('1.23/stable', '2906')).toEqual({
      title: 'pin 1.23/stable to revision 2906 on the Snap Store Proxy',
      node: 'snap-proxy',
      commands: ['sudo snap-proxy list-overrides microk8s', 'sudo snap-proxy override microk8s 1.23/stable=2906', 'sudo snap-proxy list-overrides microk8s'],
    });
  });
});
