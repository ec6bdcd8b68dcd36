// CPU budget from the cgroup quota (src/cpu_quota.ts) on sample file contents: cgroup v2 cpu.max,
// cgroup v1 cfs quota/period, nested cgroups (the tightest limit wins), no limit, malformed files,
// and the intra-op thread default that config.ts derives from it.
import t from 'tap';
import { parseCpuMax, parseCfsQuota, parseProcCgroup, cgroupCpuQuota, cpuBudget, defaultIntraOpThreads } from '../../dist/cpu_quota.js';
import { parseCli } from '../../dist/config.js';

/** A ReadText over a map of path -> contents. */
const files = (map) => (path) => map[path];

t.test('cpu.max (cgroup v2)', async (t) => {
  t.equal(parseCpuMax('max 100000\n'), undefined, 'no limit');
  t.equal(parseCpuMax('200000 100000\n'), 2);
  t.equal(parseCpuMax('150000 100000'), 1.5);
  t.equal(parseCpuMax('50000 100000\n'), 0.5);
  t.equal(parseCpuMax('100000'), 1, 'period defaults to 100000');
  t.equal(parseCpuMax('25000 50000\n'), 0.5, 'another period');
  for (const bad of [undefined, '', 'garbage', '-1 100000', '0 100000', '100000 0', '1 2 3']) {
    t.equal(parseCpuMax(bad), undefined, `malformed ${JSON.stringify(bad)}`);
  }
});

t.test('cfs quota and period (cgroup v1)', async (t) => {
  t.equal(parseCfsQuota('-1\n', '100000\n'), undefined, '-1 = no limit');
  t.equal(parseCfsQuota('300000\n', '100000\n'), 3);
  t.equal(parseCfsQuota('150000', '100000'), 1.5);
  t.equal(parseCfsQuota(undefined, '100000'), undefined);
  t.equal(parseCfsQuota('x', '100000'), undefined);
});

t.test('/proc/self/cgroup', async (t) => {
  t.same(parseProcCgroup('0::/\n'), { v2: '/' });
  t.same(parseProcCgroup('0::/kubepods.slice/kubepods-burstable.slice/pod1.slice/cri-containerd-ab.scope\n'), {
    v2: '/kubepods.slice/kubepods-burstable.slice/pod1.slice/cri-containerd-ab.scope',
  });
  t.same(parseProcCgroup('12:cpuset:/docker/ab\n4:cpu,cpuacct:/docker/ab\n1:name=systemd:/docker/ab\n'), { v1cpu: '/docker/ab' });
  t.same(parseProcCgroup(undefined), {});
});

t.test('the quota a process is under', async (t) => {
  t.equal(
    cgroupCpuQuota(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '200000 100000\n' })),
    2,
    'container with its own cgroup namespace: the limit is at the mount root',
  );
  t.equal(cgroupCpuQuota(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'max 100000\n' })), undefined, 'no limit');
  t.equal(cgroupCpuQuota(files({ '/proc/self/cgroup': '0::/user.slice/session-1.scope\n' })), undefined, 'no cpu.max files at all');
  t.equal(
    cgroupCpuQuota(
      files({
        '/proc/self/cgroup': '0::/kubepods/pod1/ctr\n',
        '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': 'max 100000\n',
        '/sys/fs/cgroup/kubepods/pod1/cpu.max': '150000 100000\n',
        '/sys/fs/cgroup/kubepods/cpu.max': '800000 100000\n',
      }),
    ),
    1.5,
    'v2 without a cgroup namespace: the tightest ancestor wins',
  );
  t.equal(
    cgroupCpuQuota(
      files({
        '/proc/self/cgroup': '4:cpu,cpuacct:/docker/ab\n',
        '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '300000\n',
        '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n',
      }),
    ),
    3,
    'v1 in a container: the host path does not exist there, the mount root holds the limit',
  );
  t.equal(
    cgroupCpuQuota(
      files({
        '/proc/self/cgroup': '4:cpu:/docker/ab\n',
        '/sys/fs/cgroup/cpu/docker/ab/cpu.cfs_quota_us': '50000\n',
        '/sys/fs/cgroup/cpu/docker/ab/cpu.cfs_period_us': '100000\n',
        '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n',
        '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
      }),
    ),
    0.5,
    'v1 on the host: the cgroup path, under a "cpu" mount',
  );
});

t.test('CPU budget and the thread default', async (t) => {
  const limited = (cpuMax) => files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': cpuMax });
  t.same(cpuBudget(limited('max 100000'), 16), { cpus: 16, schedulable: 16 });
  t.same(cpuBudget(limited('200000 100000'), 16), { cpus: 2, schedulable: 16, quota: 2 });
  t.same(cpuBudget(limited('150000 100000'), 16), { cpus: 2, schedulable: 16, quota: 1.5 }, 'fractions round up');
  t.same(cpuBudget(limited('50000 100000'), 16), { cpus: 1, schedulable: 16, quota: 0.5 }, 'at least 1');
  t.same(cpuBudget(limited('800000 100000'), 4), { cpus: 4, schedulable: 4, quota: 8 }, 'a quota above the CPUs changes nothing');
  t.equal(defaultIntraOpThreads(1, { cpus: 4, schedulable: 16 }), 4);
  t.equal(defaultIntraOpThreads(2, { cpus: 4, schedulable: 16 }), 2);
  t.equal(defaultIntraOpThreads(3, { cpus: 4, schedulable: 16 }), 1);
  t.equal(defaultIntraOpThreads(8, { cpus: 2, schedulable: 2 }), 1, 'never 0');
  t.ok(cpuBudget().cpus >= 1, 'this machine');
});

t.test('config: intra-op threads default to the CPU budget / workers; a flag wins', async (t) => {
  const budget = () => ({ cpus: 3, schedulable: 64, quota: 2.5 });
  const serve = (argv) => {
    const r = parseCli(argv, {}, budget);
    if (r.action !== 'serve') throw new Error(r.action);
    return r.config;
  };
  t.equal(serve([]).intraOpThreads, 3);
  t.equal(serve(['--workers', '3']).intraOpThreads, 1);
  t.equal(serve(['--intra-op-threads', '0']).intraOpThreads, 3, '0 = derive it');
  t.equal(serve(['--intra-op-threads', '5']).intraOpThreads, 5);
  t.equal(parseCli([], { BERT_SERVE_INTRA_OP_THREADS: '7' }, budget).config.intraOpThreads, 7);
});
