import * as z from 'zod';
import { describe, expect, it } from 'vitest';
import { builtinVerbs } from '../../src/commands/builtin-verbs.ts';
import { RequestError } from '../../src/commands/errors.ts';
import { parseCommand, type ParsedCommand } from '../../src/commands/parse.ts';
import { createRegistry } from '../../src/commands/registry.ts';
import { bareVerb, twoClusters, upgradeVerb } from './fixtures.ts';

/** Sub-verbs: a group word and a second word (`snap-proxy pin`), matched on the first two words. */

const list = bareVerb('snap-proxy list');
const pin = bareVerb('snap-proxy pin', {
  usage: 'snap-proxy pin <channel>=<revision>',
  example: 'snap-proxy pin 1.23/stable=2948',
  positional: ['pin'],
  args: z.object({ pin: z.string().regex(/^[a-z0-9./]+=\d+$/, 'expected <channel>=<revision>'), why: z.string().optional() }),
  flags: { why: { key: 'why', type: 'string', describe: 'a note' } },
  mutating: true,
});
const unpin = bareVerb('snap-proxy unpin', { usage: 'snap-proxy unpin <channel>', example: 'snap-proxy unpin 1.23/stable', positional: ['channel'], args: z.object({ channel: z.string() }), mutating: true });
const registry = createRegistry([...builtinVerbs, upgradeVerb, list, pin, unpin]);

const PROD = 'C0PROD0001';
const parse = (text: string): ParsedCommand => parseCommand(text, { channel: PROD, inventory: twoClusters, registry });
function refusal(text: string): { message: string; code: string } {
  try {
    parse(text);
  } catch (err) {
    if (!(err instanceof RequestError)) throw err;
    return { message: err.message, code: err.code };
  }
  throw new Error(`expected '${text}' to be refused`);
}

describe('registry: sub-verbs', () => {
  it('registers two-word verbs and lists a group', () => {
    expect(registry.get('snap-proxy pin')).toBe(pin);
    expect(registry.get('snap-proxy')).toBeUndefined();
    expect(registry.subverbs('snap-proxy').map((s) => s.verb)).toEqual(['snap-proxy list', 'snap-proxy pin', 'snap-proxy unpin']);
    expect(registry.subverbs('status')).toEqual([]);
  });

  it('refuses three words, bad words, and a verb that is also a group word', () => {
    expect(() => createRegistry([bareVerb('a b c')])).toThrow(/two such words/);
    expect(() => createRegistry([bareVerb('snap-proxy Pin')])).toThrow(/lowercase/);
    expect(() => createRegistry([bareVerb('snap-proxy'), bareVerb('snap-proxy pin')])).toThrow(/also the group word/);
  });

  it('nearest: a group word is a candidate for one word; two words match sub-verbs', () => {
    expect(registry.nearest('snap-prxy')).toBe('snap-proxy');
    expect(registry.nearest('snap')).toBe('snap-proxy');
    expect(registry.nearest('snap-proxy pinn')).toBe('snap-proxy pin');
    expect(registry.nearest('snap-proxy unpni')).toBe('snap-proxy unpin');
    expect(registry.nearest('snap-proxy reboot')).toBeUndefined();
    // one-word verbs still work as before
    expect(registry.nearest('upgarde')).toBe('upgrade');
  });

  it('help lists sub-verbs; help of the group word explains each; help of one sub-verb its flags', () => {
    const all = registry.helpText();
    expect(all).toContain('`snap-proxy pin <channel>=<revision>` — does snap-proxy pin');
    expect(all.indexOf('`snap-proxy list`')).toBeLessThan(all.indexOf('*Changes a cluster*'));
    const group = registry.helpText('snap-proxy');
    expect(group).toMatch(/^`snap-proxy` has 3 sub-commands:/);
    expect(group).toContain('Example: `snap-proxy unpin 1.23/stable`');
    expect(registry.helpText('snap-proxy pin')).toContain('`--why VALUE` — a note');
    expect(registry.helpText('snap-proxy pinn')).toMatch(/^unknown verb 'snap-proxy pinn'; did you mean 'snap-proxy pin'\?/);
  });
});

describe('parseCommand: sub-verbs', () => {
  it('matches the first two words and parses the rest as the sub-verb arguments', () => {
    const p = parse('snap-proxy pin 1.23/stable=2948 --why drift');
    expect(p.verb).toBe('snap-proxy pin');
    expect(p.spec).toBe(pin);
    expect(p.args).toEqual({ pin: '1.23/stable=2948', why: 'drift' });
    expect(p.cluster?.name).toBe('prod');
    expect(p.text).toBe('snap-proxy pin 1.23/stable=2948 --why drift');
    expect(parse('SNAP-PROXY LIST').verb).toBe('snap-proxy list');
    expect(parse('snap-proxy pin stable=1 --dry-run').dryRun).toBe(true);
  });

  it('the group word alone, a flag instead of the sub-verb, or a wrong sub-verb are refused with the choices', () => {
    const alone = refusal('snap-proxy');
    expect(alone.message).toBe('`snap-proxy` needs a sub-command: `snap-proxy` takes list, pin, unpin, e.g. `snap-proxy list`. Try `help snap-proxy`.');
    expect(alone.code).toBe('usage');
    expect(refusal('snap-proxy --cluster prod').message).toMatch(/^`snap-proxy` needs a sub-command/);
    const wrong = refusal('snap-proxy pinn 1.23/stable=1');
    expect(wrong.message).toBe("unknown `snap-proxy` sub-command 'pinn'; did you mean 'snap-proxy pin'?; `snap-proxy` takes list, pin, unpin, e.g. `snap-proxy list`. Try `help snap-proxy`.");
    expect(wrong.code).toBe('unknown-verb');
    expect(refusal('snap-proxy reboot').message).toMatch(/^unknown `snap-proxy` sub-command 'reboot'; `snap-proxy` takes/);
    expect(refusal('snap-prxy list').message).toBe("unknown verb 'snap-prxy'; did you mean 'snap-proxy'? Try `help`.");
  });

  it('argument errors name the sub-verb usage', () => {
    expect(refusal('snap-proxy pin').message).toBe('missing <pin> (usage: `snap-proxy pin <channel>=<revision>`, e.g. `snap-proxy pin 1.23/stable=2948`)');
    expect(refusal('snap-proxy pin 1.23/stable').message).toMatch(/^<pin>: expected <channel>=<revision>/);
    expect(refusal('snap-proxy list extra').message).toMatch(/`snap-proxy list` takes no arguments/);
    expect(refusal('snap-proxy list --dry-run').message).toMatch(/`snap-proxy list` changes nothing/);
  });

  it('--help and help reach the group and the sub-verb', () => {
    expect(parse('snap-proxy --help')).toMatchObject({ verb: 'help', args: { verb: 'snap-proxy' } });
    expect(parse('snap-proxy pin --help')).toMatchObject({ verb: 'help', args: { verb: 'snap-proxy pin' } });
    expect(parse('help snap-proxy pin')).toMatchObject({ verb: 'help', args: { verb: 'snap-proxy pin' } });
    expect(parse('help snap-proxy')).toMatchObject({ verb: 'help', args: { verb: 'snap-proxy' } });
    expect(parse('help upgrade').args).toEqual({ verb: 'upgrade' });
    expect(refusal('help snap-proxy pin now').message).toMatch(/too many arguments/);
  });
});
