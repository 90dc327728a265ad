/**
 * Go's text/tabwriter as kubectl and snap use it (padchar ' ', no flags): cells end at a tab,
 * the text after a line's last tab is not aligned, and a column is aligned over each run of
 * consecutive lines that have a cell in it.
 */
export interface TabwriterOptions {
  minwidth: number;
  padding: number;
}

export function tabwrite(text: string, opts: TabwriterOptions): string {
  const endsWithNewline = text.endsWith('\n');
  const lines = (endsWithNewline ? text.slice(0, -1) : text).split('\n').map((l) => l.split('\t'));
  const widths: number[][] = lines.map((cells) => cells.map(() => 0));
  format(lines, widths, 0, 0, lines.length, opts);
  const out = lines.map((cells, li) =>
    cells
      .map((cell, ci) => {
        if (ci === cells.length - 1) return cell;
        const w = widths[li]?.[ci] ?? 0;
        return cell + ' '.repeat(Math.max(0, w - runeLength(cell)));
      })
      .join(''),
  );
  return out.join('\n') + (endsWithNewline ? '\n' : '');
}

function runeLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function format(lines: string[][], widths: number[][], column: number, line0: number, line1: number, opts: TabwriterOptions): void {
  let i = line0;
  while (i < line1) {
    const cells = lines[i] ?? [];
    if (column >= cells.length - 1) {
      i++;
      continue;
    }
    // a block of lines with a terminated cell in this column
    let end = i;
    let width = opts.minwidth;
    while (end < line1) {
      const c = lines[end] ?? [];
      if (column >= c.length - 1) break;
      const w = runeLength(c[column] ?? '') + opts.padding;
      if (w > width) width = w;
      end++;
    }
    for (let k = i; k < end; k++) {
      const row = widths[k];
      if (row) row[column] = width;
    }
    format(lines, widths, column + 1, i, end, opts);
    i = end;
  }
}

/** kubectl's table printer: `tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)`. */
export function kubectlTable(rows: string[][]): string {
  return tabwrite(rows.map((r) => r.join('\t')).join('\n') + '\n', { minwidth: 0, padding: 3 });
}
