import { describe, expect, it } from 'vitest';
import { builtinVerbs } from '../../src/commands/builtin-verbs.ts';
import { createRegistry, editDistance } from '../../src/commands/registry.ts';
import { bareVerb, registry, upgradeVerb } from './fixtures.ts';

describe('registry', () => {
  it('gets and lists verbs in order', () => {
    expect(registry.get('upgrade')).toBe(upgradeVerb);
    expect(registry.get('nope')).toBeUndefined();
    expect(registry.list().map((s) => s.verb)).toEqual(['help', 'clusters', 'status', 'jobs', 'cancel', 'audit', 'home', 'upgrade']);
  });

  it('refuses duplicate verbs, bad names and redefined global flags', () => {
    expect(() => createRegistry([bareVerb('status'), bareVerb('status')])).toThrow(/registered twice/);
    expect(() => createRegistry([bareVerb('Status')])).toThrow(/lowercase/);
    const flag = { key: 'c', type: 'string' as const, describe: 'x' };
    expect(() => createRegistry([bareVerb('x', { flags: { cluster: flag } })])).toThrow(/--cluster is a global flag/);
    expect(() => createRegistry([bareVerb('x', { positional: ['c'], flags: { cc: flag } })])).toThrow(/share a key/);
  });

  it('edit distance counts adjacent transpositions as one edit', () => {
    expect(editDistance('upgarde', 'upgrade')).toBe(1);
    expect(editDistance('stauts', 'status')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('nearest: edit distance up to 2, or a prefix; nothing for unrelated words', () => {
    expect(registry.nearest('upgarde')).toBe('upgrade');
    expect(registry.nearest('UPGRADE')).toBe('upgrade');
    expect(registry.nearest('statsu')).toBe('status');
    expect(registry.nearest('job')).toBe('jobs');
    expect(registry.nearest('up')).toBe('upgrade');
    expect(registry.nearest('can')).toBe('cancel');
    expect(registry.nearest('hepl')).toBe('help');
    expect(registry.nearest('reboot')).toBeUndefined();
    expect(registry.nearest('x')).toBeUndefined();
    expect(registry.nearest('ls')).toBeUndefined();
  });

  it('help lists every verb with its usage, summary and example', () => {
    const text = registry.helpText();
    for (const spec of [...builtinVerbs, upgradeVerb]) {
      expect(text).toContain(`\`${spec.usage}\` — ${spec.summary}`);
      if (spec.example !== spec.usage) expect(text).toContain(`e.g. \`${spec.example}\``);
    }
    expect(text.indexOf('`upgrade <node>')).toBeGreaterThan(text.indexOf('*Changes a cluster*'));
  });

  it('help for one verb shows its flags; an unknown one suggests', () => {
    const one = registry.helpText('upgrade');
    expect(one).toContain('Example: `upgrade k8s-1 1.23/stable`');
    expect(one).toContain('`--timeout VALUE` — drain timeout');
    expect(one).toContain('`--dry-run`');
    expect(registry.helpText('status')).not.toContain('--dry-run');
    expect(registry.helpText('clusters')).not.toContain('--cluster');
    expect(registry.helpText('upgarde')).toMatch(/^unknown verb 'upgarde'; did you mean 'upgrade'\?/);
  });
});
