// The soak's memory figures (bench/soak.js): growth after warm-up as medians of two windows of RSS
// samples, and the least-squares trend. Its own module so a unit test can hold it to known series.
//
// One minute's median moves +-1% with the mix of batch shapes the block cache holds at the time, so
// the windows are 5 minutes (five burst cycles); in short runs a quarter of what follows the warm-up,
// at least a minute.

/** Where the warm-up ends (s) for a run's JSON: recorded since the 5-minute window; before that,
 * the first fifth of the run (at least 60 s) from the first sample, which the load loop took first. */
export const warmupEnd = (run) => run.warmS ?? run.rss[0].s + Math.max(60, (run.minutes * 60) / 5);

/**
 * @param rss samples {s, kib, ...parts} in time order, every few seconds
 * @param warmS end of the warm-up, seconds on the samples' clock
 * @param partNames keys of the samples' parts (tensors, malloc, v8) whose medians to report
 */
export function growth(rss, warmS, partNames = []) {
  const endS = rss.at(-1).s;
  const windowS = Math.max(60, Math.min(300, (endS - warmS) / 4));
  const median = (xs, key = 'kib') => {
    const v = xs
      .map((x) => x[key])
      .filter((x) => x !== undefined)
      .sort((p, q) => p - q);
    return v[Math.floor(v.length / 2)];
  };
  const warmWindow = rss.filter((x) => x.s >= warmS && x.s < warmS + windowS);
  const w = warmWindow.length ? warmWindow : rss.slice(-1); // a run no longer than its warm-up
  const endWindow = rss.filter((x) => x.s > endS - windowS);
  const parts = (xs) => Object.fromEntries(partNames.map((k) => [k, median(xs, k)]));
  const rssWarmKiB = median(w),
    rssEndKiB = median(endWindow);
  const pct = (x) => Math.round(x * 10000) / 100;
  return {
    warmS,
    windowS,
    rssWarmKiB,
    rssEndKiB,
    partsWarm: parts(w),
    partsEnd: parts(endWindow),
    growthAfterWarmupPct: pct((rssEndKiB - rssWarmKiB) / rssWarmKiB),
    trendAfterWarmupPct: trend(
      rss.filter((x) => x.s >= warmS),
      pct,
    ),
  };
}

// The least-squares line through the samples, as its rise over their span relative to their mean.
function trend(xs, pct) {
  if (xs.length < 3) return null;
  const mean = (v) => v.reduce((p, q) => p + q, 0) / v.length;
  const ms = mean(xs.map((x) => x.s)),
    mk = mean(xs.map((x) => x.kib));
  const slope = xs.reduce((p, x) => p + (x.s - ms) * (x.kib - mk), 0) / xs.reduce((p, x) => p + (x.s - ms) ** 2, 0);
  return pct((slope * (xs.at(-1).s - xs[0].s)) / mk);
}
