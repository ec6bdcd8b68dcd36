// The soak's memory figures (bench/soak_growth.js) held to series whose answer is known, and to the
// committed 30-minute runs: a real creep must read as one, and the minute-to-minute swing of the
// block cache must not.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { growth, warmupEnd } from '../../bench/soak_growth.js';

const BASE = 320 * 1024; // KiB, about the demo server's RSS
// A 30-minute run sampled every 5 s; kib(s) gives each sample's RSS.
const run = (kib, minutes = 30) => Array.from({ length: (minutes * 60) / 5 }, (_, i) => ({ s: 3 + i * 5, kib: kib(3 + i * 5) }));
const WARM = 3 + 360; // the first fifth of 30 minutes

t.test('a flat series whose minute medians swing +-2% reads flat', async (t) => {
  // Each minute sits at one of five levels (the block cache's mix of shapes), in an order that
  // repeats every 5 minutes, plus a burst's spike in the first 10 s of every minute.
  const level = (m) => (((m * 3) % 5) - 2) * 0.01 * BASE;
  const rss = run((s) => BASE + level(Math.floor(s / 60)) + (s % 60 < 10 ? 0.03 * BASE : 0));
  const minuteMedian = (m) =>
    rss
      .filter((x) => Math.floor(x.s / 60) === m)
      .map((x) => x.kib)
      .sort((a, b) => a - b)[6];
  const medians = Array.from({ length: 24 }, (_, i) => minuteMedian(6 + i));
  t.ok((Math.max(...medians) - Math.min(...medians)) / BASE > 0.035, 'one-minute medians swing by 4%');
  const g = growth(rss, WARM);
  t.equal(g.windowS, 300);
  t.ok(Math.abs(g.growthAfterWarmupPct) < 0.5, `growth ${g.growthAfterWarmupPct}%`);
  t.ok(Math.abs(g.trendAfterWarmupPct) < 0.5, `trend ${g.trendAfterWarmupPct}%`);
});

t.test('a steady creep reads as one; growth during the warm-up does not count', async (t) => {
  const creep = growth(
    run((s) => BASE * (1 + (0.02 * Math.max(0, s - WARM)) / (1800 - WARM))),
    WARM,
  );
  t.ok(creep.growthAfterWarmupPct > 1.4 && creep.growthAfterWarmupPct < 2, `growth ${creep.growthAfterWarmupPct}%`);
  t.ok(creep.trendAfterWarmupPct > 1.9 && creep.trendAfterWarmupPct < 2.1, `trend ${creep.trendAfterWarmupPct}%`);

  const warming = growth(
    run((s) => BASE * (s < WARM ? 0.8 + (0.2 * s) / WARM : 1)),
    WARM,
  );
  t.equal(warming.growthAfterWarmupPct, 0);
  t.equal(warming.trendAfterWarmupPct, 0);
});

t.test('parts are medians of the same windows; short runs use shorter windows', async (t) => {
  const rss = run((s) => BASE + s).map((x) => ({ ...x, tensors: 1000, v8: x.s < 900 ? 500 : 700 }));
  const g = growth(rss, WARM, ['tensors', 'v8']);
  t.same(g.partsWarm, { tensors: 1000, v8: 500 });
  t.same(g.partsEnd, { tensors: 1000, v8: 700 });

  const short = growth(
    run(() => BASE, 3),
    63,
  );
  t.equal(short.windowS, 60, 'at least a minute');
  t.equal(short.growthAfterWarmupPct, 0);
  const tooShort = growth(
    run(() => BASE, 1),
    63,
  );
  t.equal(tooShort.trendAfterWarmupPct, null, 'no samples after the warm-up: no trend');
});

t.test('the committed runs: glibc keeping freed memory crept, jemalloc + block cache did not', async (t) => {
  const score = (name) => {
    const r = JSON.parse(readFileSync(new URL(`../../bench/results/${name}.json`, import.meta.url), 'utf8'));
    return growth(r.rss, warmupEnd(r));
  };
  const kept = score('soak-30min-glibc-kept');
  t.ok(
    kept.growthAfterWarmupPct > 10 && kept.trendAfterWarmupPct > 10,
    `glibc kept: ${kept.growthAfterWarmupPct}% / ${kept.trendAfterWarmupPct}%`,
  );
  for (const name of ['soak-30min-default', 'soak-60min', 'soak-30min-onednn256', 'soak-30min-onednn256-again']) {
    const g = score(name);
    t.ok(Math.abs(g.growthAfterWarmupPct) < 1, `${name}: ${g.growthAfterWarmupPct}%`);
  }
});
