/**
 * Statistics and output for the bench: percentiles, medians, one table rendered for the terminal and
 * as markdown, and the results section of docs/performance.md, which each run rewrites in place.
 */
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { PROJECT_ROOT } from '../app/config/config.ts';

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Median of values (mean of the middle two for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** A bench option's value as a whole number in min..max; throws naming the option otherwise. */
export function wholeNumber(name: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name}: expected a whole number in ${min}-${max}, got ${v}`);
  return n;
}

/** A number with `digits` decimals, or an em dash when there is none. */
export function fmt(n: number | undefined, digits = 0): string {
  return n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(digits);
}

/** One row of the results table. */
export interface Row {
  readonly measure: string;
  readonly ours: string;
  readonly nginx: string;
  readonly ratio: string;
  readonly bar: string;
  /** 'pass', 'FAIL' or '' when the row has no bar. */
  readonly verdict: string;
}

const HEADINGS: Row = { measure: 'measure', ours: 'WSOPTV', nginx: 'nginx', ratio: 'WSOPTV / nginx', bar: 'bar', verdict: 'verdict' };
const COLUMNS = ['measure', 'ours', 'nginx', 'ratio', 'bar', 'verdict'] as const;

/** The rows as an aligned plain-text table. */
export function textTable(rows: readonly Row[]): string {
  const all = [HEADINGS, ...rows];
  const width = COLUMNS.map((c) => Math.max(...all.map((r) => r[c].length)));
  const line = (r: Row): string =>
    COLUMNS.map((c, i) => (i === 0 ? r[c].padEnd(width[i]!) : r[c].padStart(width[i]!)))
      .join('  ')
      .trimEnd();
  return [line(HEADINGS), width.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The rows as a markdown table. */
export function markdownTable(rows: readonly Row[]): string {
  const cells = (r: Row): string => `| ${COLUMNS.map((c) => r[c] || ' ').join(' | ')} |`;
  return [cells(HEADINGS), `|${COLUMNS.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`, ...rows.map(cells)].join('\n');
}

/** Marks the part of docs/performance.md the bench owns; everything outside them is hand-written. */
export const RESULTS_START = '<!-- bench:results:start (written by `npm run bench`; edits inside are overwritten) -->';
export const RESULTS_END = '<!-- bench:results:end -->';

/** The markers of the console step's section. */
export const CONSOLE_RESULTS = {
  start: '<!-- bench:console:start (written by `npm run bench -- console`; edits inside are overwritten) -->',
  end: '<!-- bench:console:end -->',
} as const;

/** Replaces the results section of `file` with `markdown` (appends the section when the markers are missing). */
export function writeResultsSection(file: string, markdown: string): Promise<void> {
  return writeMarkedSection(file, RESULTS_START, RESULTS_END, markdown);
}

/** Replaces what lies between the `start` and `end` markers of `file` (appends the markers and it when missing). */
export async function writeMarkedSection(file: string, start: string, end: string, markdown: string): Promise<void> {
  let doc = '';
  try {
    doc = await readFile(file, 'utf8');
  } catch {
    doc = '# Performance\n';
  }
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const a = doc.indexOf(start);
  const b = doc.indexOf(end);
  const next = a >= 0 && b > a ? doc.slice(0, a) + block + doc.slice(b + end.length) : `${doc.trimEnd()}\n\n${block}\n`;
  await writeFile(file, next);
}

/** The machine a run measured, in one line for the terminal and one for the doc. */
export function machine(): { summary: string; detail: string } {
  const nproc = os.availableParallelism();
  const memGiB = os.totalmem() / 1024 ** 3;
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return {
    summary: `${nproc} CPUs (${cpu}), ${fmt(memGiB, 1)} GiB RAM, Linux ${os.release()}, Node ${process.version}`,
    detail: `nproc ${nproc} (${cpu}), ${fmt(memGiB, 1)} GiB memory, Linux ${os.release()}, Node ${process.version}`,
  };
}

/** The commit measured, and whether app/ had uncommitted changes (others may be editing the same checkout). */
export function codeVersion(): string {
  const git = (...args: string[]): string => spawnSync('git', args, { cwd: PROJECT_ROOT, encoding: 'utf8' }).stdout?.trim() ?? '';
  const commit = git('rev-parse', '--short', 'HEAD') || 'unknown commit';
  const dirty = git('status', '--porcelain', '--', 'app').split('\n').filter((l) => l !== '').length;
  return dirty > 0 ? `${commit} with ${dirty} uncommitted file${dirty > 1 ? 's' : ''} in app/` : commit;
}
