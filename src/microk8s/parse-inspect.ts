/**
 * `microk8s inspect` (reference §7): service checks, FAIL and WARNING findings, and the line
 * `  Report tarball is at /var/snap/microk8s/<rev>/inspection-report-YYYYmmdd_HHMMSS.tar.gz`.
 * A service that is not running makes the exit code 1: that is a finding, not a failure.
 */
import { OutputParseError, stripAnsi } from './errors.ts';
import { outputLines } from './parse-snap.ts';

export type InspectFinding = {
  level: 'FAIL' | 'WARNING';
  /** The message, with its follow-up line (`For more details look at: …`) when there is one. */
  text: string;
};

export type InspectService = {
  name: string;
  running: boolean;
};

export interface InspectReport {
  /** Absolute path of the report tarball on the node. */
  tarball: string;
  services: InspectService[];
  findings: InspectFinding[];
}

const TARBALL = /Report tarball is at (\/\S+\/inspection-report-[0-9_]+\.tar\.gz)\s*$/;
const FINDING = /^(FAIL|WARNING):(.*)$/;
const RUNNING = /^Service (\S+) is running$/;
const NOT_RUNNING = /Service (\S+) is not running/;
/** Lines that start a new part of the report: a finding's text stops before them. */
const SECTION = /^(Inspecting |Gathering |Building the report|Copy |Inspect |Service |Report tarball)/;

/** Reads the report of `microk8s inspect` (stdout and stderr, either may carry warnings). */
export function parseInspect(stdout: string, stderr = ''): InspectReport {
  let tarball: string | undefined;
  const services: InspectService[] = [];
  const findings: InspectFinding[] = [];
  const lines = [...outputLines(stdout), ...outputLines(stderr)].map((l) => stripAnsi(l).trim());
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const t = TARBALL.exec(line);
    if (t?.[1]) {
      tarball = t[1];
      continue;
    }
    const running = RUNNING.exec(line);
    if (running?.[1]) {
      services.push({ name: running[1], running: true });
      continue;
    }
    const f = FINDING.exec(line);
    if (!f?.[1]) continue;
    const level = f[1] as InspectFinding['level'];
    const parts = [(f[2] ?? '').trimStart()];
    // The next line or two belong to it (`For more details look at: …`, a suggested command), up to a blank line.
    const start = i;
    for (let j = start + 1; j < lines.length && j <= start + 3; j++) {
      const next = lines[j] ?? '';
      if (next === '' || FINDING.test(next) || SECTION.test(next)) break;
      parts.push(next);
      i = j;
    }
    const text = parts.filter((p) => p !== '').join(' ');
    const down = NOT_RUNNING.exec(text);
    if (down?.[1]) services.push({ name: down[1], running: false });
    findings.push({ level, text });
  }
  if (!tarball) {
    throw OutputParseError.of('microk8s inspect', 'a line "Report tarball is at <path>.tar.gz"', `${stdout}\n${stderr}`);
  }
  return { tarball, services, findings };
}
