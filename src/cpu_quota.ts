// How many CPUs this process may use: the smaller of the CPUs it may be scheduled on
// (os.availableParallelism(), which honours cpusets and taskset) and its cgroup's CPU quota
// (cgroup v2 `cpu.max`, cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`). A container limited to
// 2 CPUs on a 64-core node sees 64 cores but is throttled after 2 CPUs' worth of time per period;
// thread pools sized by the core count then stall in every period. Kubernetes' `limits.cpu` and
// `docker run --cpus` set this quota.
//
// Pure parsing functions plus one reader that takes its file reader as a parameter, so the unit
// tests run on sample file contents. No native code involved: the engine receives the resulting
// thread count as an ordinary option.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Reads a file's text, or undefined when it cannot be read. */
export type ReadText = (path: string) => string | undefined;

const readText: ReadText = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/**
 * Parses cgroup v2 `cpu.max` ("$MAX $PERIOD", MAX may be "max"): the quota in CPUs, or undefined
 * when there is none or the text is not understood.
 */
export function parseCpuMax(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^\s*(max|\d+)(?:\s+(\d+))?\s*$/.exec(text);
  if (!m || m[1] === 'max') return undefined;
  const quota = Number(m[1]);
  const period = m[2] === undefined ? 100_000 : Number(m[2]);
  if (!(quota > 0) || !(period > 0)) return undefined;
  return quota / period;
}

/** Parses cgroup v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us`: CPUs, or undefined (-1 = no quota). */
export function parseCfsQuota(quotaText: string | undefined, periodText: string | undefined): number | undefined {
  if (quotaText === undefined || periodText === undefined) return undefined;
  const quota = Number(quotaText.trim());
  const period = Number(periodText.trim());
  if (!Number.isFinite(quota) || quota <= 0 || !Number.isFinite(period) || period <= 0) return undefined;
  return quota / period;
}

/** The cgroup paths of /proc/self/cgroup: the v2 path ("0::/x") and the v1 path of the cpu controller. */
export function parseProcCgroup(text: string | undefined): { v2?: string; v1cpu?: string } {
  const out: { v2?: string; v1cpu?: string } = {};
  for (const line of (text ?? '').split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') out.v2 = m[3];
    else if (m[2].split(',').includes('cpu')) out.v1cpu = m[3];
  }
  return out;
}

/** `/a/b/c` -> [`/a/b/c`, `/a/b`, `/a`, `` ] (the cgroup and its ancestors up to the mount's root). */
function ancestors(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  const out: string[] = [];
  for (let i = parts.length; i >= 0; i--)
    out.push(
      parts
        .slice(0, i)
        .map((p) => `/${p}`)
        .join(''),
    );
  return out;
}

const minDefined = (values: (number | undefined)[]): number | undefined => {
  const defined = values.filter((v): v is number => v !== undefined);
  return defined.length ? Math.min(...defined) : undefined;
};

/**
 * The CPU quota of this process's cgroup in CPUs (e.g. 1.5), or undefined when it has none.
 * The tightest limit among the cgroup and its ancestors counts. Inside a container the cgroup
 * namespace usually makes the path "/", so the container's own limit is at the mount's root.
 */
export function cgroupCpuQuota(read: ReadText = readText, root = '/sys/fs/cgroup'): number | undefined {
  const paths = parseProcCgroup(read('/proc/self/cgroup'));
  if (paths.v2 !== undefined) {
    const v2 = minDefined(ancestors(paths.v2).map((p) => parseCpuMax(read(`${root}${p}/cpu.max`))));
    if (v2 !== undefined) return v2;
  }
  // cgroup v1: the cpu controller is mounted as cpu,cpuacct (or cpu); in a container the mount's
  // root is the container's own cgroup, so the host path in /proc/self/cgroup may not exist there.
  for (const mount of [`${root}/cpu,cpuacct`, `${root}/cpu`]) {
    const candidates = paths.v1cpu !== undefined ? [...ancestors(paths.v1cpu)] : [''];
    const v1 = minDefined(
      candidates.map((p) => parseCfsQuota(read(`${mount}${p}/cpu.cfs_quota_us`), read(`${mount}${p}/cpu.cfs_period_us`))),
    );
    if (v1 !== undefined) return v1;
  }
  return undefined;
}

export interface CpuBudget {
  /** Whole CPUs to size thread pools by: min(schedulable CPUs, ceil(quota)), at least 1. */
  cpus: number;
  /** os.availableParallelism(). */
  schedulable: number;
  /** The cgroup quota in CPUs, when there is one. */
  quota?: number;
}

/**
 * The CPUs to size thread pools by. A fractional quota rounds up (1.5 CPUs -> 2 threads), as the
 * JVM, .NET and Go runtimes do: one thread fewer would leave the half CPU unused for good, while
 * the extra thread is throttled only when all of them are busy at once.
 */
export function cpuBudget(read: ReadText = readText, schedulable = availableParallelism()): CpuBudget {
  const quota = cgroupCpuQuota(read);
  const cpus = Math.max(1, quota === undefined ? schedulable : Math.min(schedulable, Math.ceil(quota - 1e-9)));
  return quota === undefined ? { cpus, schedulable } : { cpus, schedulable, quota };
}

/** Default intra-op threads per worker: the CPU budget shared among the workers, at least 1. */
export function defaultIntraOpThreads(workers: number, budget: CpuBudget = cpuBudget()): number {
  return Math.max(1, Math.floor(budget.cpus / Math.max(1, workers)));
}
