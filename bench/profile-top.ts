/**
 * Summarises a V8 .cpuprofile (from `npm run bench -- --only=3 --cpu-prof`):
 * the functions with the most self time, and the packages/files they live in.
 * Native work (SQLite, syscalls) counts as self time of the JS function that
 * called into it. Usage: npx tsx bench/profile-top.ts FILE [N]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, limit = '25', ...extra] = process.argv.slice(2);
// A glob such as CPU.*.cpuprofile can match a worker thread's profile too: name one file.
if (!file || extra.length > 0 || !/^[1-9]\d*$/.test(limit)) {
  console.error('Usage: tsx bench/profile-top.ts FILE.cpuprofile [N]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const byFunction = new Map<string, number>();
const byOrigin = new Map<string, number>();
let total = 0;
let idle = 0;

function origin(url: string): string {
  if (!url) return '(native / V8)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules !== -1) {
    const parts = url.slice(modules + 'node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (url.startsWith('node:')) return url;
  const project = url.match(/\/(src|machines|bench)\/.*$/);
  return project ? project[0].slice(1) : url;
}

profile.samples.forEach((id, i) => {
  const node = nodes.get(id);
  const delta = profile.timeDeltas[i] ?? 0;
  if (!node) return;
  total += delta;
  const { functionName, url, lineNumber } = node.callFrame;
  // Waiting is not cost: percentages are of the time the process was busy.
  if (functionName === '(idle)') {
    idle += delta;
    return;
  }
  const where = origin(url);
  const key = `${functionName || '(anonymous)'}  ${where}${url ? `:${lineNumber + 1}` : ''}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + delta);
  byOrigin.set(where, (byOrigin.get(where) ?? 0) + delta);
});

const show = (title: string, map: Map<string, number>, n: number) => {
  console.log(`\n${title}`);
  for (const [key, time] of [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    console.log(`${((time / (total - idle)) * 100).toFixed(1).padStart(5)} %  ${key}`);
  }
};
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled, ${((total - idle) / 1e6).toFixed(2)} s busy; percentages are of busy time`);
show('Self time by function', byFunction, Number(limit));
show('Self time by package / file', byOrigin, 15);
