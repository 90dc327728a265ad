import { describe, expect, it } from 'vitest';
import { InvalidValueError } from '../../src/microk8s/errors.ts';
import { assertHostAddress, assertPort } from '../../src/microk8s/validate.ts';
import { maskJoinText } from '../../src/microk8s/parse-join.ts';

describe('assertHostAddress: an address read from a node before it reaches nc or curl', () => {
  it('takes IPv4, IPv6 and host names', () => {
    for (const a of ['10.0.0.11', '::1', 'fd00::11', 'k8s-1', 'k8s-1.lan.example']) expect(assertHostAddress(a)).toBe(a);
  });
  it('refuses options, spaces, shell text and odd names, saying what is expected', () => {
    for (const a of ['-e', '-oProxyCommand=x', '10.0.0.1 -e /bin/sh', '10.0.0.1;reboot', '$(reboot)', 'a..b', '-k8s', 'k8s-', '', 'x'.repeat(300), '10.0.0.1\n']) {
      expect(() => assertHostAddress(a, 'InternalIP'), JSON.stringify(a)).toThrow(InvalidValueError);
    }
    expect(() => assertHostAddress('-e', 'InternalIP')).toThrow('"-e" is not a valid InternalIP: expected an IPv4 or IPv6 address or a host name');
  });
  it('ports are 1 to 65535', () => {
    expect(assertPort(25000)).toBe(25000);
    for (const p of [0, -1, 65_536, 1.5, Number.NaN]) expect(() => assertPort(p)).toThrow('is not a TCP port: expected 1 to 65535');
  });
});

describe('maskJoinText', () => {
  it('masks the known tokens and any join address that carries a token-like part', () => {
    const known = 'a'.repeat(32);
    const text = `microk8s join 10.0.0.1:25000/${known}/0123456789ab\nor 10.0.0.2:25000/f00dfeedf00dfeedf00d/0123456789ab --worker\nContacting cluster at 10.0.0.1`;
    const masked = maskJoinText(text, [known]);
    expect(masked).not.toContain(known);
    expect(masked).not.toContain('f00dfeedf00dfeedf00d');
    expect(masked).toContain('Contacting cluster at 10.0.0.1');
  });
});
