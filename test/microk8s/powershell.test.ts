import { describe, expect, it } from 'vitest';
import { ADAPTER_NAME } from '../../src/config/inventory.ts';
import { OutputParseError } from '../../src/microk8s/errors.ts';
import { containerdOutcome, expectTexts, flagsToRemove, kubeVersionOf, parseAdapters, parseCalicoctlVersion, parseCalicoDaemonSet, parseFacts, parseServices } from '../../src/microk8s/parse-windows.ts';
import { CMD_LINE_LIMIT, UnsafePowerShellValueError, decodeCommand, encodeCommand, lastJson, powershellArgv, psLiteral, psString, renderScript, stripClixml } from '../../src/microk8s/powershell.ts';
import { pickAdapter } from '../../src/ops/windows-install.ts';
import { knownBuildWarning } from '../../src/ops/windows-cluster.ts';

describe('PowerShell runner', () => {
  it('encodes the script as base64 of UTF-16LE, as -EncodedCommand wants', () => {
    // [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes('dir'))
    expect(encodeCommand('dir')).toBe('ZABpAHIA');
    expect(decodeCommand(encodeCommand('Get-Service ‘x’ — ü'))).toBe('Get-Service ‘x’ — ü');
  });

  it('passes values as single-quoted literals: every quote character doubled, control characters refused', () => {
    expect(psString("it's")).toBe("'it''s'");
    expect(psString('a‘b’c')).toBe("'a‘‘b’’c'");
    expect(psString('$env:PATH; `whoami`')).toBe("'$env:PATH; `whoami`'");
    expect(psLiteral(['a', "b'c"])).toBe("@('a', 'b''c')");
    expect(psLiteral(true)).toBe('$true');
    expect(() => psString('a\nb')).toThrow(UnsafePowerShellValueError);
    expect(() => psString('a\u0000')).toThrow(UnsafePowerShellValueError);
  });

  it('renders the prelude first, the data, the body, then exit $LASTEXITCODE', () => {
    const text = renderScript({ name: 't', vars: { Name: "o'brien" }, body: 'Write-Output $Name\n' });
    expect(text.split('\r\n')).toEqual(["$ProgressPreference = 'SilentlyContinue'", "$ErrorActionPreference = 'Stop'", '$global:LASTEXITCODE = 0', "$Name = 'o''brien'", 'Write-Output $Name', 'exit $LASTEXITCODE']);
    expect(() => renderScript({ name: 't', vars: { 'a;b': 'x' }, body: '' })).toThrow(UnsafePowerShellValueError);
  });

  it('builds the cmd.exe command line and refuses one longer than cmd.exe takes', () => {
    const argv = powershellArgv({ name: 't', body: 'Get-Date' });
    expect(argv.slice(0, 7)).toEqual(['powershell.exe', '-NoLogo', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand']);
    expect(argv[7]).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(() => powershellArgv({ name: 'big', body: 'x'.repeat(CMD_LINE_LIMIT) })).toThrow(/cmd\.exe takes at most 8191/);
  });

  it('strips a leading CLIXML block, keeping the error records as text', () => {
    const progress = '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><Obj S="progress" RefId="0"><MS><PR N="Record"><AV>Preparing modules for first use.</AV></PR></MS></Obj></Objs>';
    expect(stripClixml(progress)).toBe('');
    expect(stripClixml(`${progress}\r\nplain error\r\n`)).toBe('plain error\n');
    const err = '#< CLIXML\r\n<Objs Version="1.1.0.1"><S S="Error">Start-Service : Cannot find &lt;kubelet&gt;_x000D__x000A_</S><S S="Error">At line:1 char:1_x000D__x000A_</S></Objs>';
    expect(stripClixml(err)).toBe('Start-Service : Cannot find <kubelet>\nAt line:1 char:1\n');
    expect(stripClixml('no xml here')).toBe('no xml here');
  });

  it('reads the last JSON value: compressed or not, after progress lines', () => {
    expect(lastJson('Downloading...\r\n{"a":1}\r\n', 'x')).toEqual({ a: 1 });
    expect(lastJson('text\n{\n    "a":  [\n              1\n          ]\n}\n', 'x')).toEqual({ a: [1] });
    expect(() => lastJson('Script complete!\n', 'install containerd')).toThrow(OutputParseError);
  });
});

describe('parsers of the Windows scripts', () => {
  it('facts: build, UBR, services (a one-element array unrolled, a numeric enum)', () => {
    const f = parseFacts({ ProductName: 'Windows Server 2022 Datacenter', CurrentBuild: '20348', UBR: 2582, ComputerName: 'W1', Admin: true, LastBoot: 'x', Services: { Name: 'kubelet', Status: 4 }, CalicoWindows: false, KubeConfig: false });
    expect(f.osBuild).toBe('20348.2582');
    expect(f.services).toEqual([{ name: 'kubelet', status: 'Running' }]);
    expect(knownBuildWarning(f)).toContain('KB5040437');
    expect(knownBuildWarning({ ...f, ubr: 2655, osBuild: '20348.2655' })).toBeUndefined();
    expect(() => parseFacts({ CurrentBuild: 'x' })).toThrow(OutputParseError);
    expect(parseServices([{ Name: 'a', Status: 'Stopped' }, 'junk', null])).toEqual([{ name: 'a', status: 'Stopped' }]);
  });

  it('success texts, not exit codes: "Script complete!" and no .err marker', () => {
    expect(containerdOutcome('Script complete!\n', '', 0, { ErrFile: false, Containerd: 'Running' })).toEqual({ kind: 'installed' });
    expect(containerdOutcome('Restart is required; restarting now...\n', '', 0, undefined)).toEqual({ kind: 'reboot' });
    const quiet = containerdOutcome('Downloading containerd...\n', 'Write-Error: 404\n', 0, { ErrFile: true, Containerd: '' });
    expect(quiet.kind).toBe('failed');
    expect(expectTexts('Done installing kubelet service.\n', '', 0, ['Done installing kubelet service.', 'Done installing kube-proxy service.'])).toEqual({ ok: false, problem: 'it did not print "Done installing kube-proxy service.":\nDone installing kubelet service.' });
  });

  it('versions: kubelet flags to remove per Kubernetes version, Calico from its image, calicoctl', () => {
    expect(flagsToRemove('1.25.2')).toEqual([]);
    expect(flagsToRemove('1.26.1')).toEqual(['--logtostderr=true']);
    expect(flagsToRemove('1.27.5')).toEqual(['--logtostderr=true', '--container-runtime=remote']);
    expect(kubeVersionOf('v1.22.3-3+9ec7c40ec93c73')).toBe('1.22.3');
    expect(parseCalicoDaemonSet(JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'upgrade-ipam', image: 'calico/cni:v3.25.0' }, { name: 'calico-node', image: 'docker.io/calico/node:v3.25.0' }] } } } }))).toBe('docker.io/calico/node:v3.25.0');
    expect(parseCalicoctlVersion('Client Version:    v3.25.0\nGit commit:        abc\n')).toBe('3.25.0');
    expect(parseCalicoctlVersion('bash: calicoctl: command not found\n')).toBeUndefined();
  });

  it('adapters: the one carrying the node address, else the only vSwitch; ambiguity asks for windows.interfaceName', () => {
    const adapters = parseAdapters({
      Adapters: [{ Name: 'vEthernet (Ethernet)', Status: 'Up', InterfaceDescription: 'Hyper-V Virtual Ethernet Adapter' }, { Name: 'Ethernet 2', Status: 'Up', InterfaceDescription: 'x' }],
      Addresses: [{ InterfaceAlias: 'vEthernet (Ethernet)', IPAddress: '10.0.0.21' }, { InterfaceAlias: 'Ethernet 2', IPAddress: '192.168.5.5' }],
    });
    expect(pickAdapter(adapters, '10.0.0.21', undefined)).toEqual({ name: 'vEthernet (Ethernet)' });
    expect(pickAdapter(adapters, 'w1.example', undefined)).toEqual({ name: 'vEthernet (Ethernet)' });
    expect(pickAdapter(adapters, 'w1', 'Ethernet 2')).toEqual({ name: 'Ethernet 2' });
    expect(pickAdapter(adapters, 'w1', 'Wi-Fi')).toEqual({ problem: expect.stringContaining('windows.interfaceName is "Wi-Fi"') });
    const two = parseAdapters({ Adapters: [{ Name: 'A', Status: 'Up' }, { Name: 'B', Status: 'Up' }], Addresses: [{ InterfaceAlias: 'A', IPAddress: '10.1.1.1' }, { InterfaceAlias: 'B', IPAddress: '10.2.2.2' }] });
    expect(pickAdapter(two, 'w1', undefined)).toEqual({ problem: expect.stringContaining('set windows.interfaceName') });
    // a name that could break out of kubelet-service.ps1's double quotes is refused by the step (ADAPTER_NAME)
    expect(ADAPTER_NAME.test('vEthernet (Ethernet 2)')).toBe(true);
    expect(ADAPTER_NAME.test('x"; Invoke-Evil; "')).toBe(false);
    expect(ADAPTER_NAME.test('$(whoami)')).toBe(false);
  });
});
