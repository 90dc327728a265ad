import { describe, expect, it } from 'vitest';
import { parseInspect } from '../../src/microk8s/parse-inspect.ts';

/** Real `microk8s inspect` outputs (reference §7; a 1.22 report from a public issue thread). */
const V122 = `Inspecting Certificates
Inspecting services
  Service snap.microk8s.daemon-cluster-agent is running
  Service snap.microk8s.daemon-containerd is running
  Service snap.microk8s.daemon-apiserver-kicker is running
  Service snap.microk8s.daemon-kubelite is running
  Copy service arguments to the final report tarball
Inspecting AppArmor configuration
Gathering system information
  Copy processes list to the final report tarball
  Copy snap list to the final report tarball
  Copy VM name (or none) to the final report tarball
  Copy disk usage information to the final report tarball
  Copy memory usage information to the final report tarball
  Copy server uptime to the final report tarball
  Copy current linux distribution to the final report tarball
  Copy openSSL information to the final report tarball
  Copy network configuration to the final report tarball
Inspecting kubernetes cluster
  Inspect kubernetes cluster
Inspecting juju
  Inspect Juju
Inspecting kubeflow
  Inspect Kubeflow


WARNING:  Docker is installed.
Add the following lines to /etc/docker/daemon.json:
{
    "insecure-registries" : ["localhost:32000"]
}
and then restart docker with: sudo systemctl restart docker
Building the report tarball
  Report tarball is at /var/snap/microk8s/2551/inspection-report-20211031_124330.tar.gz
`;

const FAILED = `Inspecting system
Inspecting Certificates
Inspecting services
  Service snap.microk8s.daemon-cluster-agent is running
  Service snap.microk8s.daemon-containerd is running
  \x1b[31m FAIL: \x1b[0m Service snap.microk8s.daemon-kubelite is not running
For more details look at: sudo journalctl -u snap.microk8s.daemon-kubelite
  Service snap.microk8s.daemon-k8s-dqlite is running
  Service snap.microk8s.daemon-apiserver-kicker is running
  Copy service arguments to the final report tarball
Inspecting AppArmor configuration
Gathering system information
  Copy processes list to the final report tarball
Inspecting kubernetes cluster
  Inspect kubernetes cluster
Inspecting dqlite
  Inspect dqlite

\x1b[0;33m WARNING: \x1b[0m IPtables FORWARD policy is DROP. Consider enabling traffic forwarding with: sudo iptables -P FORWARD ACCEPT
The change can be made persistent with: sudo apt-get install iptables-persistent
Building the report tarball
  Report tarball is at /var/snap/microk8s/6089/inspection-report-20231120_101500.tar.gz
`;

describe('parseInspect', () => {
  it('reads a clean 1.22 report: the tarball, the services, the multi-line Docker warning', () => {
    const r = parseInspect(V122);
    expect(r.tarball).toBe('/var/snap/microk8s/2551/inspection-report-20211031_124330.tar.gz');
    expect(r.services.map((s) => s.name)).toEqual(['snap.microk8s.daemon-cluster-agent', 'snap.microk8s.daemon-containerd', 'snap.microk8s.daemon-apiserver-kicker', 'snap.microk8s.daemon-kubelite']);
    expect(r.services.every((s) => s.running)).toBe(true);
    expect(r.findings).toEqual([{ level: 'WARNING', text: 'Docker is installed. Add the following lines to /etc/docker/daemon.json: { "insecure-registries" : ["localhost:32000"]' }]);
  });

  it('reads FAIL (coloured) with its journalctl hint and WARNING with its follow-up line', () => {
    const r = parseInspect(FAILED, "cp: cannot stat '/var/snap/microk8s/6089/var/kubernetes/backend/localnode.yaml': No such file or directory\n");
    expect(r.tarball).toBe('/var/snap/microk8s/6089/inspection-report-20231120_101500.tar.gz');
    expect(r.findings).toEqual([
      { level: 'FAIL', text: 'Service snap.microk8s.daemon-kubelite is not running For more details look at: sudo journalctl -u snap.microk8s.daemon-kubelite' },
      { level: 'WARNING', text: 'IPtables FORWARD policy is DROP. Consider enabling traffic forwarding with: sudo iptables -P FORWARD ACCEPT The change can be made persistent with: sudo apt-get install iptables-persistent' },
    ]);
    expect(r.services.filter((s) => !s.running).map((s) => s.name)).toEqual(['snap.microk8s.daemon-kubelite']);
  });

  it('no tarball line is a parse error naming what was expected', () => {
    expect(() => parseInspect('Inspecting Certificates\n', 'sudo: a password is required\n')).toThrow(/expected a line "Report tarball is at <path>\.tar\.gz"/);
    expect(() => parseInspect('  Report tarball is at /tmp/x;rm.tar.gz\n')).toThrow(/Report tarball/);
  });
});
