/** A small pflag-style parser for the simulated CLIs (kubectl, snap). */

export interface FlagSpec {
  name: string;
  short?: string;
  type: 'bool' | 'string';
  /** go-flags optional value: `--hold` alone means this value; a following word is not taken. */
  optionalValue?: string;
}

export interface ParsedFlags {
  flags: Map<string, string>;
  positional: string[];
}

export type FlagError = { kind: 'unknown'; flag: string } | { kind: 'missing-value'; flag: string } | { kind: 'bad-bool'; flag: string; value: string };

export function parseFlags(args: readonly string[], specs: readonly FlagSpec[]): ParsedFlags | FlagError {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map<string, FlagSpec>();
  for (const s of specs) if (s.short) byShort.set(s.short, s);
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const spec = byName.get(name);
      if (!spec) return { kind: 'unknown', flag: `--${name}` };
      if (spec.type === 'bool') {
        const v = eq >= 0 ? a.slice(eq + 1) : 'true';
        if (!['true', 'false', '1', '0', 't', 'f', 'TRUE', 'FALSE', 'True', 'False'].includes(v)) return { kind: 'bad-bool', flag: `--${name}`, value: v };
        flags.set(name, ['true', '1', 't', 'TRUE', 'True'].includes(v) ? 'true' : 'false');
      } else if (eq >= 0) flags.set(name, a.slice(eq + 1));
      else if (spec.optionalValue !== undefined) flags.set(name, spec.optionalValue);
      else {
        const v = args[i + 1];
        if (v === undefined) return { kind: 'missing-value', flag: `--${name}` };
        flags.set(name, v);
        i++;
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1 && a !== '-') {
      // -o json, -ojson, -o=json, -A, -Ao json
      let j = 1;
      while (j < a.length) {
        const ch = a[j] ?? '';
        const spec = byShort.get(ch);
        if (!spec) return { kind: 'unknown', flag: `-${ch}` };
        if (spec.type === 'bool') {
          flags.set(spec.name, 'true');
          j++;
          continue;
        }
        let rest = a.slice(j + 1);
        if (rest.startsWith('=')) rest = rest.slice(1);
        if (rest !== '') flags.set(spec.name, rest);
        else {
          const v = args[i + 1];
          if (v === undefined) return { kind: 'missing-value', flag: `-${ch}` };
          flags.set(spec.name, v);
          i++;
        }
        break;
      }
      continue;
    }
    positional.push(a);
  }
  return { flags, positional };
}

export function isFlagError(x: ParsedFlags | FlagError): x is FlagError {
  return 'kind' in x;
}
