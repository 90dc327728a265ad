import { describe, expect, it } from 'vitest';
import { RequestError } from '../../src/commands/errors.ts';
import { parseCommand, type ParsedCommand } from '../../src/commands/parse.ts';
import { oneCluster, registry, twoClusters } from './fixtures.ts';

const PROD = 'C0PROD0001';
const ELSEWHERE = 'C0OTHER001';

function parse(text: string, channel = PROD, inventory = twoClusters): ParsedCommand {
  return parseCommand(text, { channel, inventory, registry });
}

/** The RequestError message parse throws for `text`. */
function refusal(text: string, channel = PROD, inventory = twoClusters): string {
  try {
    parse(text, channel, inventory);
  } catch (err) {
    if (!(err instanceof RequestError)) throw err;
    return err.message;
  }
  throw new Error(`expected '${text}' to be refused`);
}

function codeOf(text: string, channel = PROD): string {
  try {
    parse(text, channel);
  } catch (err) {
    if (!(err instanceof RequestError)) throw err;
    return err.code;
  }
  return 'none';
}

describe('parseCommand: valid commands', () => {
  it('help, with and without a verb, and empty text', () => {
    expect(parse('help')).toMatchObject({ verb: 'help', args: {}, dryRun: false });
    expect(parse('help').cluster).toBeUndefined();
    expect(parse('help upgrade').args).toEqual({ verb: 'upgrade' });
    expect(parse('', ELSEWHERE)).toMatchObject({ verb: 'help', text: 'help' });
    expect(parse('   ')).toMatchObject({ verb: 'help' });
    expect(parse('upgrade --help')).toMatchObject({ verb: 'help', args: { verb: 'upgrade' } });
  });

  it('clusters is global: no cluster, even from a channel bound to none', () => {
    const cmd = parse('clusters', ELSEWHERE);
    expect(cmd.verb).toBe('clusters');
    expect(cmd.cluster).toBeUndefined();
    expect(refusal('clusters --cluster prod')).toMatch(/not about one cluster; drop --cluster/);
  });

  it('status takes the channel cluster, --cluster NAME and --cluster=NAME', () => {
    expect(parse('status').cluster?.name).toBe('prod');
    expect(parse('status', 'C0STAGE001').cluster?.name).toBe('staging');
    expect(parse('status --cluster staging').cluster?.name).toBe('staging');
    expect(parse('status --cluster=staging', ELSEWHERE).cluster?.name).toBe('staging');
    expect(parse('status', ELSEWHERE, oneCluster).cluster?.name).toBe('lab');
    expect(parse('Status').verb).toBe('status');
  });

  it('jobs, cancel and audit', () => {
    expect(parse('jobs')).toMatchObject({ verb: 'jobs', args: {} });
    expect(parse('cancel 42')).toMatchObject({ verb: 'cancel', args: { job: '42' } });
    expect(parse('audit')).toMatchObject({ verb: 'audit', args: { n: 20 } });
    expect(parse('audit 200').args).toEqual({ n: 200 });
    expect(parse('audit 1 --cluster staging')).toMatchObject({ args: { n: 1 }, cluster: { name: 'staging' } });
  });

  it('a mutating verb: positional args, flags, --dry-run, normalised text', () => {
    const cmd = parse('upgrade   k8s-1 1.23/stable  --dry-run');
    expect(cmd).toMatchObject({ verb: 'upgrade', args: { node: 'k8s-1', channel: '1.23/stable' }, dryRun: true, text: 'upgrade k8s-1 1.23/stable --dry-run' });
    expect(cmd.cluster?.nodes.map((n) => n.name)).toEqual(['k8s-1', 'k8s-2', 'k8s-3']);
    expect(parse('upgrade k8s-2 latest/edge/hotfix-1 --force --timeout 90s').args).toEqual({ node: 'k8s-2', channel: 'latest/edge/hotfix-1', force: true, timeout: '90s' });
    expect(parse('upgrade --timeout=5m k8s-3 1.23/candidate').args).toEqual({ node: 'k8s-3', channel: '1.23/candidate', timeout: '5m' });
    expect(parse('upgrade s-1 1.23/stable --cluster staging').cluster?.name).toBe('staging');
    expect(parse('upgrade k8s-1 1.23/stable').dryRun).toBe(false);
  });
});

describe('parseCommand: refusals say what was wrong and what is allowed', () => {
  it('unknown verbs, with the nearest verb when there is one', () => {
    expect(refusal('upgarde k8s-1 1.23/stable')).toBe("unknown verb 'upgarde'; did you mean 'upgrade'? Try `help`.");
    expect(refusal('stats')).toMatch(/did you mean 'status'\?/);
    expect(refusal('canel 4')).toMatch(/did you mean 'cancel'\?/);
    expect(refusal('clu')).toMatch(/did you mean 'clusters'\?/);
    expect(refusal('reboot')).toBe("unknown verb 'reboot'. Try `help`.");
    expect(refusal('--cluster prod status')).toMatch(/start with a verb/);
  });

  it('unknown node lists the nodes of the cluster', () => {
    expect(refusal('upgrade k8s-9 1.23/stable')).toBe("unknown node 'k8s-9' in cluster prod; its nodes are k8s-1, k8s-2, k8s-3");
    expect(refusal('upgrade k8s-1 1.23/stable --cluster staging')).toMatch(/unknown node 'k8s-1' in cluster staging; its nodes are s-1/);
    expect(refusal('upgrade K8S_1 1.23/stable')).toMatch(/<node>: 'K8S_1' is not a node name: use lowercase letters, digits and '-'/);
  });

  it('unknown cluster and no resolvable cluster list the clusters', () => {
    expect(refusal('status --cluster dev')).toBe("unknown cluster 'dev'; clusters: prod, staging");
    // Own keys only: names on Object.prototype are no cluster.
    expect(refusal('status --cluster constructor')).toBe("unknown cluster 'constructor'; clusters: prod, staging");
    expect(refusal('upgrade k8s-1 1.23/stable --cluster tostring')).toBe("unknown cluster 'tostring'; clusters: prod, staging");
    expect(refusal('status --cluster __proto__')).toBe("unknown cluster '__proto__'; clusters: prod, staging");
    expect(refusal('status --cluster hasownproperty')).toBe("unknown cluster 'hasownproperty'; clusters: prod, staging");
    expect(refusal('status', ELSEWHERE)).toMatch(/which cluster\? .*add --cluster NAME \(clusters: prod, staging\)/);
    expect(refusal('status --cluster')).toMatch(/--cluster needs a value/);
    expect(refusal('status --cluster=')).toMatch(/--cluster= needs a value/);
    expect(refusal('status --cluster prod --cluster staging')).toMatch(/--cluster is given twice/);
  });

  it('a misspelled risk names it and the allowed ones; other channel mistakes too', () => {
    expect(refusal('upgrade k8s-1 1.23/stabel')).toMatch(/<channel>: unknown risk 'stabel'; use stable, candidate, beta or edge/);
    expect(refusal('upgrade k8s-1 1.23')).toMatch(/add the risk to '1.23': 1.23\/stable/);
    expect(refusal('upgrade k8s-1 v1.23/stable')).toMatch(/unknown track 'v1.23'/);
  });

  it('shell metacharacters, quotes, newlines and non-ASCII are refused by name', () => {
    expect(refusal('upgrade k8s-1; rm -rf /')).toMatch(/^';' in 'k8s-1;' is not allowed: shell metacharacters and quotes are refused; words may contain only ASCII letters/);
    expect(refusal('upgrade $(reboot) 1.23/stable')).toMatch(/^'\$' in '\$\(reboot\)' is not allowed/);
    expect(refusal('upgrade `reboot` 1.23/stable')).toMatch(/^'`' in '`reboot`' is not allowed/);
    expect(refusal('upgrade k8s-1 1.23/stable\nreboot')).toMatch(/contains a line break: send one command on one line/);
    expect(refusal('status\t--cluster prod')).toMatch(/contains a tab/);
    expect(refusal('upgrade nœud-1 1.23/stable')).toMatch(/non-ASCII character 'œ' \(U\+0153\) in 'nœud-1'/);
    expect(refusal('upgrade "k8s-1" 1.23/stable')).toMatch(/^'"' in '"k8s-1"' is not allowed/);
    expect(refusal("upgrade 'k8s-1' 1.23/stable")).toMatch(/^''' in ''k8s-1'' is not allowed/);
    expect(refusal('upgrade \u201ck8s-1\u201d 1.23/stable')).toMatch(/curly quote/);
    expect(refusal('status --cluster prod | tee')).toMatch(/^'\|' is not allowed/);
    expect(refusal('status > /etc/passwd')).toMatch(/^'>' is not allowed/);
  });

  it('over-long values and lines are refused without echoing them whole', () => {
    const long = `k${'8'.repeat(150)}`;
    const message = refusal(`upgrade ${long} 1.23/stable`);
    expect(message).toMatch(/is 151 characters long; a word may have at most 100/);
    expect(message.length).toBeLessThan(120);
    const node64 = `k${'a'.repeat(63)}`;
    expect(refusal(`upgrade ${node64} 1.23/stable`)).toMatch(/is not a node name: .* at most 63 characters/);
    expect(refusal(`status ${'x '.repeat(300)}`)).toMatch(/the command is \d+ characters long; at most 500 are allowed/);
  });

  it('--dry-run only on mutating verbs; unknown flags name the flags the verb takes', () => {
    expect(refusal('status --dry-run')).toMatch(/--dry-run is only for verbs that change a cluster; `status` changes nothing/);
    expect(refusal('upgrade k8s-1 1.23/stable --fast')).toBe('unknown flag --fast; `upgrade` takes --timeout VALUE, --force, --cluster NAME, --dry-run, --now, --at TIME');
    expect(refusal('status --verbose')).toBe('unknown flag --verbose; `status` takes --drift, --cluster NAME');
    expect(refusal('clusters --all')).toBe('unknown flag --all; `clusters` takes no flags');
    expect(refusal('upgrade k8s-1 1.23/stable -f')).toMatch(/'-f' is not a flag: flags are written --name/);
    expect(refusal('upgrade k8s-1 1.23/stable --force=yes')).toMatch(/--force takes no value/);
    expect(refusal('upgrade k8s-1 1.23/stable --dry-run --dry-run')).toMatch(/--dry-run is given twice/);
  });

  it('wrong arity shows the usage and the example', () => {
    expect(refusal('upgrade k8s-1')).toBe('missing <channel> (usage: `upgrade <node> <channel>`, e.g. `upgrade k8s-1 1.23/stable`)');
    expect(refusal('upgrade')).toMatch(/^missing <node>; missing <channel> \(usage/);
    expect(refusal('upgrade k8s-1 1.23/stable now')).toBe("too many arguments ('now'); usage: `upgrade <node> <channel>`, e.g. `upgrade k8s-1 1.23/stable`");
    expect(refusal('status prod')).toBe('`status` takes no arguments; usage: `status [--drift]`, e.g. `status --cluster prod`');
    expect(refusal('cancel')).toMatch(/^missing <job> \(usage: `cancel <job>`, e.g. `cancel 42`\)/);
  });

  it('bad values for the built-in verbs', () => {
    expect(refusal('cancel abc')).toMatch(/<job>: 'abc' is not a job id; use the number from 'job 42'/);
    expect(refusal('cancel 1234567890123')).toMatch(/is not a job id/);
    expect(refusal('audit 0')).toMatch(/<n>: '0' is not a whole number from 1 to 200/);
    expect(refusal('audit 201')).toMatch(/'201' is not a whole number from 1 to 200/);
    expect(refusal('audit many')).toMatch(/'many' is not a whole number/);
    expect(refusal('help up/grade')).toMatch(/<verb>: expected a verb name/);
  });

  it('a RequestError carries a code for the kind of mistake', () => {
    expect(codeOf('upgarde')).toBe('unknown-verb');
    expect(codeOf('status;')).toBe('bad-input');
    expect(codeOf('upgrade k8s-1')).toBe('usage');
    expect(codeOf('status --x')).toBe('unknown-flag');
    expect(codeOf('upgrade k8s-9 1.23/stable')).toBe('bad-argument');
    expect(codeOf('status', ELSEWHERE)).toBe('cluster');
  });
});
