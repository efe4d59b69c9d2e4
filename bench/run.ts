/**
 * `npm run bench` — the benchmark set (BENCHMARKS.md); `npm run bench -- --quick`
 * — a smoke run (< 90 s) that proves every scenario still runs, checking
 * nothing about speed. Scenario 7 needs PostgreSQL (see bench/lib/pg-database.ts).
 *
 * Flags: --quick, --only=1,3 (scenarios), --runs=N (repeats per figure),
 * --update-doc (write the table into BENCHMARKS.md), --doc-from=FILE (write it
 * from a saved report, without running), --cpu-prof (profile every
 * child process into bench/results/profiles/<time>/<child>/; summarise one
 * with `npx tsx bench/profile-top.ts FILE`).
 *
 * Exits 1 only if a scenario crashed; targets missed are reported, not fatal.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { BENCH_DIR, COMPILED_DIR, profileChildren } from './lib/child.js';
import { consoleComparison, consoleTable, machine, markdownComparison, markdownTable, rowNotes, type Row } from './lib/report.js';
import { removeRunDir, runDir } from './lib/run-dir.js';
import { settings } from './lib/settings.js';
import { resumeHttp } from './scenarios/s1-resume-http.js';
import { turnHttp } from './scenarios/s2-turn-http.js';
import { turnInproc } from './scenarios/s3-turn-inproc.js';
import { ingest } from './scenarios/s4-ingest.js';
import { fanout } from './scenarios/s5-fanout.js';
import { scale } from './scenarios/s6-scale.js';
import { postgres } from './scenarios/s7-postgres.js';
import { abuse } from './scenarios/s8-abuse.js';

const FILE_LIMIT = 2048;
const RESULTS = join(BENCH_DIR, 'results');
const DOC = resolve(BENCH_DIR, '..', 'BENCHMARKS.md');
const DOC_START = '<!-- bench:results:start -->';
const DOC_END = '<!-- bench:results:end -->';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string) => args.find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1];
const quick = flag('quick');
const only = option('only')?.split(',').map((part) => part.trim());
const runsOption = option('runs');
const s = settings(quick, runsOption === undefined ? undefined : Number(runsOption));

/**
 * A thousand SSE sockets need file descriptors in both the server and the
 * subscribers' process. Node raises its soft limit to the hard limit by itself,
 * so only a low hard limit matters, and only a privileged shell can raise it.
 */
function checkFileLimit(): void {
  const limit = Number(execFileSync('/bin/sh', ['-c', 'ulimit -n']).toString().trim());
  if (limit < FILE_LIMIT) log(`⚠ the open-file limit is ${limit}; scenario 5's 1,000 subscribers need about 1,100 per process (raise it with \`ulimit -n ${FILE_LIMIT}\` as root)`);
}

/** The code measured: the commit, and whether the runtime's sources had uncommitted edits. */
function codeVersion(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: BENCH_DIR, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = git('status', '--porcelain', '--', '../src', '../machines', '../package-lock.json') !== '';
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' + uncommitted changes' : ''}`;
  } catch {
    return 'unknown';
  }
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** The package as users run it (`bamboo-server`, `import 'bamboo-server'`) is the compiled one: built fresh from the sources. */
function build(): void {
  log('building dist/ from the sources (npm run build), and the bench servers and workers into dist-bench/…');
  const root = resolve(BENCH_DIR, '..');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  rmSync(COMPILED_DIR, { recursive: true, force: true });
  execFileSync('npx', ['tsc', '-p', 'tsconfig.bench.json'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
}

type Report = { date: string; elapsedS: number; machine: ReturnType<typeof machine>; code: string; loadAverage: { before: number; after: number }; settings: { runs: number }; rows: Row[] };

/** Rewrites the results section of BENCHMARKS.md from a report (this run's, or a saved one with --doc-from). */
function writeDoc(report: Report): void {
  const { machine: host, rows } = report;
  const doc = readFileSync(DOC, 'utf8');
  const start = doc.indexOf(DOC_START);
  const end = doc.indexOf(DOC_END);
  if (start === -1 || end === -1) throw new Error(`BENCHMARKS.md lacks the ${DOC_START} / ${DOC_END} markers`);
  const section = [
    DOC_START,
    '',
    `Measured ${report.date.slice(0, 10)} on ${host.cores} × ${host.cpuModel} (${host.memoryGb} GB), Node ${host.node}, ${host.platform}; code ${report.code}; medians of ${report.settings.runs} runs; the whole set took ${report.elapsedS.toFixed(0)} s; 1-minute load average ${report.loadAverage.before.toFixed(1)} before, ${report.loadAverage.after.toFixed(1)} after.`,
    '',
    markdownTable(rows),
    '',
    ...rowNotes(rows).map((note) => `- ${note}`),
    '',
    'SQLite and PostgreSQL side by side (the same measures; the scenario in brackets):',
    '',
    markdownComparison(rows) ?? '(no PostgreSQL rows)',
    '',
    DOC_END,
  ].join('\n');
  writeFileSync(DOC, doc.slice(0, start) + section + doc.slice(end + DOC_END.length));
  log(`updated ${DOC}`);
}

async function main(): Promise<number> {
  const docFrom = option('doc-from');
  if (docFrom) {
    writeDoc(JSON.parse(readFileSync(docFrom, 'utf8')) as Report);
    return 0;
  }
  checkFileLimit();
  build();
  if (flag('cpu-prof')) {
    const dir = join(RESULTS, 'profiles', new Date().toISOString().replaceAll(':', '-').slice(0, 19));
    profileChildren(dir);
    log(`CPU profiles of every child process go to ${dir}/<child>/`);
  }
  const rows: Row[] = [];
  const crashed: string[] = [];
  let expressRps: number | undefined;
  const scenarios: [string, string, () => Promise<Row[]>][] = [
    ['1', 'POST /resume over HTTP', async () => {
      const result = await resumeHttp(s);
      expressRps = result[0]?.floor?.value;
      return result;
    }],
    ['2', 'HITL turn over HTTP', () => turnHttp(s, expressRps)],
    ['3', 'HITL turn in-process', () => turnInproc(s)],
    ['4', 'durable token ingest', () => ingest(s)],
    ['5', 'SSE fan-out', () => fanout(s)],
    ['6', 'scale', () => scale(s, log)],
    ['7', 'PostgreSQL: one and two instances', () => postgres(s, expressRps)],
    ['8', '1,000 SSE clients, 100 not reading', () => abuse(s)],
  ];
  const loadBefore = loadavg();
  // Read before the children load the code: it may change while the set runs.
  const code = codeVersion();
  if (!quick && loadBefore[0] > 1) log(`⚠ the 1-minute load average is ${loadBefore[0].toFixed(1)}: if other processes are busy, figures will be lower and noisier.`);
  const started = performance.now();
  for (const [id, name, run] of scenarios) {
    if (only && !only.includes(id)) continue;
    const at = performance.now();
    log(`▶ scenario ${id}: ${name}${quick ? ' (quick)' : ''}`);
    try {
      const result = await run();
      rows.push(...result);
      log(`  done in ${((performance.now() - at) / 1000).toFixed(1)} s`);
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      log(`  CRASHED: ${message}`);
      crashed.push(`${id} ${name}: ${message.split('\n')[0]}`);
    }
  }
  const elapsedS = (performance.now() - started) / 1000;
  const host = machine();
  const report = {
    date: new Date().toISOString(),
    quick,
    runsPerFigure: s.runs,
    elapsedS,
    machine: host,
    code,
    /** Other processes on the machine skew the figures; the 1-minute load average before and after says how much. */
    loadAverage: { before: loadBefore[0], after: loadavg()[0] },
    settings: s,
    rows,
    crashed,
  };

  console.log(`\nBamboo Server benchmarks${quick ? ' (quick: smoke run, numbers not meaningful)' : ''}`);
  console.log(`${host.cores} × ${host.cpuModel}, ${host.memoryGb} GB, Node ${host.node}, ${host.platform}; code ${report.code}; medians of ${s.runs} run(s); ${elapsedS.toFixed(0)} s; load average ${report.loadAverage.before.toFixed(1)} → ${report.loadAverage.after.toFixed(1)}\n`);
  console.log(consoleTable(rows));
  const compared = consoleComparison(rows);
  if (compared) console.log(`\nSQLite and PostgreSQL side by side:\n\n${compared}`);
  const notes = rowNotes(rows);
  if (notes.length > 0) console.log(`\n${notes.map((note) => `- ${note}`).join('\n')}`);
  if (crashed.length > 0) console.log(`\nCRASHED:\n${crashed.map((line) => `- ${line}`).join('\n')}`);

  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, quick ? 'latest-quick.json' : 'latest.json');
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  log(`\nwrote ${file}`);
  if (flag('update-doc') && !quick && !only && crashed.length === 0) writeDoc(report);
  // The servers' logs and databases; kept when a scenario crashed, for its logs.
  if (crashed.length > 0) log(`servers' logs and databases kept in ${runDir()}`);
  else removeRunDir();
  return crashed.length > 0 ? 1 : 0;
}

process.exitCode = await main();
