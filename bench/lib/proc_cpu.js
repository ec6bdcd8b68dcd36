// CPU time of a process or thread from /proc (Linux), for the benches that report the cores each
// part of a run used (server, load generator): clock ticks of user + system time.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

/** CPU seconds (user + system) from a /proc stat file: /proc/PID/stat, or /proc/PID/task/TID/stat for one thread. */
export function statCpuSeconds(statPath) {
  const stat = readFileSync(statPath, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICKS;
}

/** CPU seconds (user + system) a process has used, all its threads. */
export const cpuSeconds = (pid) => statCpuSeconds(`/proc/${pid}/stat`);
