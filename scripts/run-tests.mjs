#!/usr/bin/env node
// Runs tap test files as scripts/test.sh and scripts/test-http.sh need them: each file is its own
// `node FILE` process (a tap file prints TAP and exits non-zero on a failure by itself), at most
// --jobs at once, the longest first, each with its own environment.
//
// Why not the `tap` runner: it cost ~6 s per invocation and ~2 s per file more than `node FILE`
// here (its loaders and reporter; docs/testing.md), and it runs files in name order, so the longest
// file (test/long/tokenizer-differential, started late by its name) ended the run alone for minutes.
// Here the files start longest first, by the seconds test/file-seconds.json records for each (a
// file it does not list counts as DEFAULT_SECONDS), so the short ones fill in at the end.
//
// Usage: node scripts/run-tests.mjs [--timeout SECONDS] [--record] [--jobs N] JOB... [--beside [--jobs N] JOB...]...
//   JOB: "[NAME=VALUE ...] FILE": a test file, after the environment it runs with, for example
//        "BERT_SERVE_TRANSPORT=uws test/unit/admission.test.mjs" (one argument). PATH=... selects
//        the node binary (a node on that PATH runs the file; the job is named by its version).
//   --beside: the jobs after it are a second queue, run at the same time as the first with its own
//        --jobs (default 1): scripts/test.sh runs the timing-sensitive files one at a time with
//        only files that compute little beside them.
//   --record: writes the seconds each job took into test/file-seconds.json (keyed by the job).
// Each file's output is printed whole when it ends (two files' lines never interleave), then
// `ok N - JOB # time=...ms cpu=...ms` or `not ok` (cpu: the file's process and the processes it
// started and waited for, sampled from /proc every 0.5 s); at the end the totals and the sums.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SECONDS_FILE = join(root, 'test', 'file-seconds.json');
const DEFAULT_SECONDS = 5;

const args = process.argv.slice(2);
let timeoutS = 900;
let record = false;
const groups = [{ jobs: 2, specs: [] }];
for (let i = 0; i < args.length; i++) {
  const group = groups[groups.length - 1];
  if (args[i] === '--jobs') group.jobs = Number(args[++i]);
  else if (args[i] === '--timeout') timeoutS = Number(args[++i]);
  else if (args[i] === '--record') record = true;
  else if (args[i] === '--beside') groups.push({ jobs: 1, specs: [] });
  else group.specs.push(args[i]);
}
if (!(timeoutS > 0) || groups.some((g) => !(g.jobs >= 1) || g.specs.length === 0)) {
  console.error(
    'usage: node scripts/run-tests.mjs [--timeout S] [--record] [--jobs N] "[NAME=VALUE ...] FILE"... [--beside [--jobs N] JOB...]',
  );
  process.exit(2);
}

const versions = new Map();
function nodeVersion(path) {
  if (!versions.has(path))
    versions.set(path, execFileSync('node', ['--version'], { env: { ...process.env, PATH: path }, encoding: 'utf8' }).trim());
  return versions.get(path);
}

const known = existsSync(SECONDS_FILE) ? JSON.parse(readFileSync(SECONDS_FILE, 'utf8')) : {};
function job(spec) {
  const words = spec.trim().split(/\s+/);
  const file = words.pop();
  if (!existsSync(join(root, file))) {
    console.error(`run-tests: ${file} is missing`);
    process.exit(2);
  }
  const env = Object.fromEntries(words.map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
  const shown = words.filter((w) => !w.startsWith('PATH='));
  if (env.PATH) shown.unshift(`node ${nodeVersion(env.PATH)}`);
  const name = [...shown, file].join(' ');
  return { name, file, env, seconds: known[name] ?? DEFAULT_SECONDS };
}
for (const g of groups) g.queue = g.specs.map(job).sort((a, b) => b.seconds - a.seconds);

const TICKS = 100; // USER_HZ on Linux
/** CPU seconds of a live process: its own and its reaped children's (/proc/PID/stat). */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICKS;
  } catch {
    return null;
  }
}

const started = Date.now();
const results = [];
const running = new Set();
// An interrupted run (Ctrl-C, the CI's timeout, a closed output pipe) stops the files it started,
// servers and all (each file runs in its own process group).
function stopAll() {
  for (const child of running) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', stopAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(130));
const totals = { total: 0, pass: 0, fail: 0, skip: 0, todo: 0 };

function run(job) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const env = { ...process.env, ...job.env, TAP_TIMEOUT: String(timeoutS) };
    const child = spawn('node', [job.file], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running.add(child);
    let cpu = 0;
    const sampler = setInterval(() => (cpu = cpuSeconds(child.pid) ?? cpu), 500);
    const out = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => out.push(d));
    // tap's own timeout (TAP_TIMEOUT) fails a stuck file from inside; this kill is for a process
    // that does not exit after that (a handle left open): its whole group, so no server stays.
    const killer = setTimeout(
      () => {
        out.push(Buffer.from(`\nrun-tests: ${job.name} still running after ${timeoutS + 30} s: killed\n`));
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      },
      (timeoutS + 30) * 1000,
    );
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      clearInterval(sampler);
      running.delete(child);
      const ms = Date.now() - t0;
      const text = Buffer.concat(out).toString('utf8');
      const summary = text.match(/^# (\{ total: .*\})$/m);
      if (summary) {
        for (const [, k, v] of summary[1].matchAll(/(\w+): (\d+)/g)) if (k in totals) totals[k] += Number(v);
      }
      const ok = code === 0 && signal === null;
      results.push({ name: job.name, ms, cpu, ok });
      const n = results.length;
      process.stdout.write(`# Subtest: ${job.name}\n${text.replace(/^(?=.)/gm, '    ')}`);
      process.stdout.write(
        `${ok ? 'ok' : 'not ok'} ${n} - ${job.name} # time=${ms}ms cpu=${Math.round(cpu * 1000)}ms${ok ? '' : ` (exit ${code ?? signal})`}\n\n`,
      );
      resolve();
    });
  });
}

async function lane(queue) {
  for (let job = queue.shift(); job; job = queue.shift()) await run(job);
}
await Promise.all(groups.flatMap((g) => Array.from({ length: Math.min(g.jobs, g.queue.length) }, () => lane(g.queue))));

const failed = results.filter((r) => !r.ok);
const sum = results.reduce((s, r) => s + r.ms, 0) / 1000;
const cpuSum = results.reduce((s, r) => s + r.cpu, 0);
console.log(`1..${results.length}`);
console.log(
  `# { ${Object.entries(totals)
    .filter(([k, v]) => v || k === 'total')
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ')} }`,
);
console.log(
  `# ${results.length} files, ${groups.map((g) => g.jobs).join(' + ')} at a time: ${((Date.now() - started) / 1000).toFixed(1)} s wall; ` +
    `summed over the files ${sum.toFixed(1)} s, ${cpuSum.toFixed(1)} s of CPU`,
);
for (const r of failed) console.log(`# failed: ${r.name}`);
if (record) {
  for (const r of results) known[r.name] = Math.round(r.ms / 100) / 10;
  const sorted = Object.fromEntries(Object.entries(known).sort(([a], [b]) => a.localeCompare(b)));
  writeFileSync(SECONDS_FILE, JSON.stringify(sorted, null, 2) + '\n');
}
process.exit(failed.length ? 1 : 0);
