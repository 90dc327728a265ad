/**
 * The add-ons/CNI work (issue 10):
 *
 *   manifest:  reading a real-size Calico manifest (the sim's bundled one padded with CRDs to
 *              the 325 kB of MicroK8s 1.33's) as multi-document YAML, finding the customisations
 *              and building the new manifest by in-place edits — per run, and as a ratio to one
 *              bare `yaml` parse of the whole text (the CRDs, most of it, are skipped by a split on
 *              document markers, so this is below 1).
 *   addons:    `/mk8s addons` on a 3-node simulated cluster: slash command → follow-up answer
 *              (3 manifests of every node read over SSH), against the same reads run back to back.
 */
import { parseAllDocuments } from 'yaml';
import { customisations } from '../src/microk8s/calico-customisations.ts';
import { applyManifestEdits, parseCalicoManifest } from '../src/microk8s/calico-manifest.ts';
import { bundledCalicoYaml } from '../src/sim/calico-manifest.ts';
import { USERS } from '../test/support/harness.ts';
import { log, ms, ratio, stats, withHarness, type Benchmark, type Row } from './lib.ts';

const RUNS = 30;

function padded(minor: number): string {
  const base = bundledCalicoYaml(minor);
  const crd = base.slice(base.indexOf('---\n# Source: calico/templates/kdd-crds.yaml'), base.indexOf('---\n# Source: calico/templates/calico-node-rbac.yaml'));
  let text = base;
  for (let i = 0; text.length < 325_000; i++) text += crd.replaceAll('ippools', `ippools${i}`).replaceAll('felixconfigurations', `felixconfigurations${i}`);
  return text;
}

function timed(fn: (i: number) => void): number[] {
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

export const cni: Benchmark = {
  name: 'cni',
  title: 'Calico manifest processing and the addons answer',
  async run(): Promise<Row[]> {
    const deployed = padded(26).replace('value: "10.1.0.0/16"', 'value: "10.100.0.0/16"');
    const bundled = padded(27);
    log(`  manifest: ${Math.round(bundled.length / 1000)} kB, ${bundled.split('\n').length} lines, ${RUNS} runs`);
    const bare = stats(timed(() => void parseAllDocuments(bundled)));
    const full = stats(
      timed((i) => {
        // a different text each run: parseCalicoManifest remembers the last few it read
        const d = parseCalicoManifest(`${deployed}# run ${i}\n`);
        const b = parseCalicoManifest(`${bundled}# run ${i}\n`);
        applyManifestEdits(`${bundled}# run ${i}\n`, customisations(d, b).flatMap((c) => (c.edit ? [c.edit] : [])));
      }),
    );
    log(`  bare yaml parse p50 ${ms(bare.p50)}; read both + customisations + new manifest p50 ${ms(full.p50)}`);
    const rows: Row[] = [
      { bench: 'cni', figure: 'manifest: read both, diff, build new (p50)', value: ms(full.p50), n: full.n, note: `${Math.round(bundled.length / 1000)} kB manifests` },
      { bench: 'cni', figure: 'manifest: ÷ one bare yaml parse (p50)', value: ratio(full.p50 / bare.p50), n: full.n, note: 'only the documents with images or calico-config are parsed' },
    ];
    await withHarness({}, async (h) => {
      const samples: number[] = [];
      for (let i = 0; i < 5; i++) {
        const before = h.slack.responses.length;
        const t0 = performance.now();
        await h.command(USERS.alice, 'addons');
        await h.slack.waitFor(() => h.slack.responses.slice(before).find((r) => typeof r.body.text === 'string' && r.body.text.startsWith('add-ons and CNI of')), 30_000);
        samples.push(performance.now() - t0);
      }
      const s = stats(samples);
      log(`  addons answer p50 ${ms(s.p50)} (max ${ms(s.max)})`);
      rows.push({ bench: 'cni', figure: '`addons` command → answer (p50)', value: ms(s.p50), n: s.n, note: '3 control-plane nodes, test latencies' });
    });
    return rows;
  },
};
