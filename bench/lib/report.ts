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
}

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

export function consoleTable(rows: readonly Row[]): string {
  const table = [HEADERS, ...rows.map(cells)];
  const widths = HEADERS.map((_, i) => Math.max(...table.map((line) => line[i].length)));
  return table
    .map((line, index) => {
      const text = line.map((cell, i) => cell.padEnd(widths[i])).join(' │ ');
      return index === 0 ? `${text}\n${widths.map((w) => '─'.repeat(w)).join('─┼─')}` : text;
    })
    .join('\n');
}

export function markdownTable(rows: readonly Row[]): string {
  const escape = (cell: string) => cell.replaceAll('|', '\\|');
  return [
    `| ${HEADERS.join(' | ')} |`,
    `|${HEADERS.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${cells(row).map(escape).join(' | ')} |`),
  ].join('\n');
}

export function rowNotes(rows: readonly Row[]): string[] {
  return rows.filter((row) => row.note).map((row) => `${row.scenario} ${row.case}: ${row.note}`);
}
