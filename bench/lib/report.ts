/** Result rows, the console and Markdown tables, and the machine they were measured on. */
import { cpus, totalmem } from 'node:os';

export interface Floor {
  label: string;
  value: number;
  unit: string;
  runs: number[];
}

export interface Target {
  text: string;
  met: boolean;
}

export interface Row {
  scenario: string;
  case: string;
  /** The median over repeated runs. */
  value: number;
  unit: string;
  runs: number[];
  /** Latency percentiles in ms (median over runs), when the scenario has them. */
  p50?: number;
  p99?: number;
  floor?: Floor;
  /** value / floor.value, or as the row's note says. */
  ratio?: number;
  target?: Target;
  note?: string;
  /** Puts the row in the side-by-side table of SQLite and PostgreSQL, as `setup`'s cell of `measure`. */
  compare?: Comparison;
}

export type Setup = 'sqlite' | 'pg1' | 'pg2';

export interface Comparison {
  measure: string;
  setup: Setup;
}

const SETUPS: Record<Setup, string> = { sqlite: 'SQLite (one process)', pg1: 'PostgreSQL, 1 instance', pg2: 'PostgreSQL, 2 instances' };

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGb: number;
  node: string;
  platform: string;
}

export function machine(): Machine {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

function number(value: number | undefined, digits?: number): string {
  if (value === undefined) return '';
  if (!Number.isFinite(value)) return String(value);
  const places = digits ?? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2);
  return value.toLocaleString('en-US', { minimumFractionDigits: places, maximumFractionDigits: places });
}

const HEADERS = ['#', 'case', 'result (median)', 'runs', 'p50 ms', 'p99 ms', 'floor (median)', 'ratio', 'target', 'met'];

function cells(row: Row): string[] {
  return [
    row.scenario,
    row.case,
    `${number(row.value)} ${row.unit}`,
    row.runs.map((run) => number(run)).join(' / '),
    number(row.p50),
    number(row.p99),
    row.floor ? `${number(row.floor.value)} ${row.floor.unit} (${row.floor.label})` : '',
    row.ratio === undefined ? '' : `${number(row.ratio * 100, 0)} %`,
    row.target?.text ?? '',
    row.target ? (row.target.met ? 'met' : 'NOT met') : '',
  ];
}

function textTable(headers: readonly string[], lines: readonly string[][]): string {
  const table = [headers, ...lines];
  const widths = headers.map((_, i) => Math.max(...table.map((line) => line[i].length)));
  return table
    .map((line, index) => {
      const text = line.map((cell, i) => cell.padEnd(widths[i])).join(' │ ');
      return index === 0 ? `${text}\n${widths.map((w) => '─'.repeat(w)).join('─┼─')}` : text;
    })
    .join('\n');
}

function markdown(headers: readonly string[], lines: readonly string[][]): string {
  const escape = (cell: string) => cell.replaceAll('|', '\\|');
  return [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`, ...lines.map((line) => `| ${line.map(escape).join(' | ')} |`)].join('\n');
}

export function consoleTable(rows: readonly Row[]): string {
  return textTable(HEADERS, rows.map(cells));
}

export function markdownTable(rows: readonly Row[]): string {
  return markdown(HEADERS, rows.map(cells));
}

/** The rows that have a `compare`, one line per measure, one column per setup; null when there are none. */
function comparison(rows: readonly Row[]): { headers: string[]; lines: string[][] } | null {
  const measures = new Map<string, Partial<Record<Setup, Row>>>();
  for (const row of rows) {
    if (!row.compare) continue;
    const line = measures.get(row.compare.measure) ?? {};
    line[row.compare.setup] = row;
    measures.set(row.compare.measure, line);
  }
  if (measures.size === 0) return null;
  const setups = Object.keys(SETUPS) as Setup[];
  const cell = (row: Row | undefined) => {
    if (!row) return '';
    const p99 = row.p99 !== undefined && row.unit !== 'ms p99' ? ` (p99 ${number(row.p99)} ms)` : '';
    return `${number(row.value)} ${row.unit}${p99} [#${row.scenario}]`;
  };
  return {
    headers: ['measure', ...setups.map((setup) => SETUPS[setup])],
    lines: [...measures].map(([measure, line]) => [measure, ...setups.map((setup) => cell(line[setup]))]),
  };
}

export function consoleComparison(rows: readonly Row[]): string | null {
  const table = comparison(rows);
  return table && textTable(table.headers, table.lines);
}

export function markdownComparison(rows: readonly Row[]): string | null {
  const table = comparison(rows);
  return table && markdown(table.headers, table.lines);
}

export function rowNotes(rows: readonly Row[]): string[] {
  return rows.filter((row) => row.note).map((row) => `${row.scenario} ${row.case}: ${row.note}`);
}
