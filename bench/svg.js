// A small SVG line-chart writer for the benchmark report (no plotting packages).
//
//   lineChart({ title, xLabel, yLabel, xLog, yLog, xTicks, series: [{ name, points: [[x, y], ...], dashed }],
//               hlines: [{ y, label }], width, height }) -> '<svg ...>...</svg>'
//
// Linear or log10 axes (xTicks: explicit x tick values). Points with a non-finite or (log scale) non-positive y are skipped.
// Plain SVG 1.1 with inline attributes only, so it renders on GitHub and in any browser.

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(v) {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 10000) return `${+(v / 1000).toFixed(a >= 100000 ? 0 : 1)}k`;
  if (a >= 100) return String(Math.round(v));
  if (a >= 1) return String(+v.toFixed(1));
  if (a >= 0.01) return String(+v.toFixed(2));
  return v.toExponential(0);
}

/** About `n` round ticks covering [lo, hi]. */
export function niceTicks(lo, hi, n = 5) {
  if (!(hi > lo)) {
    hi = lo + 1;
  }
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(+t.toPrecision(12));
  return out;
}

function logTicks(lo, hi) {
  const out = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
  }
  return out;
}

export function lineChart(opts) {
  const W = opts.width ?? 640,
    H = opts.height ?? 360;
  const m = { l: 64, r: 16, t: 36, b: 48 };
  const series = (opts.series ?? []).map((s) => ({
    ...s,
    points: (s.points ?? []).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!opts.yLog || y > 0) && (!opts.xLog || x > 0)),
  }));
  const hl = (opts.hlines ?? []).filter((h) => Number.isFinite(h.y) && (!opts.yLog || h.y > 0));
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).concat(hl.map((h) => h.y));
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(opts.title ?? '')}</text>`,
  ];
  if (xs.length === 0) {
    out.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text></svg>`);
    return out.join('\n');
  }
  let x0 = opts.xMin ?? Math.min(...xs),
    x1 = opts.xMax ?? Math.max(...xs);
  if (opts.xMin === undefined && !opts.xLog && x0 > 0 && x0 < (x1 - x0) * 0.5) x0 = 0;
  if (x1 === x0) {
    x1 = x0 + 1;
  }
  let y0, y1, yt;
  if (opts.yLog) {
    y0 = 10 ** Math.floor(Math.log10(Math.min(...ys)));
    y1 = 10 ** Math.ceil(Math.log10(Math.max(...ys)));
    if (y1 === y0) y1 = y0 * 10;
    yt = logTicks(y0, y1);
  } else {
    y0 = opts.yMin ?? 0;
    y1 = Math.max(...ys) * 1.08;
    if (!(y1 > y0)) y1 = y0 + 1;
    yt = niceTicks(y0, y1, 5);
    y1 = Math.max(y1, yt[yt.length - 1]);
  }
  const xt = opts.xTicks ?? (opts.xLog ? logTicks(x0, x1) : niceTicks(x0, x1, 6));
  const pw = W - m.l - m.r,
    ph = H - m.t - m.b;
  const sx = opts.xLog
    ? (x) => m.l + ((Math.log10(x) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0))) * pw
    : (x) => m.l + ((x - x0) / (x1 - x0)) * pw;
  const sy = opts.yLog
    ? (y) => m.t + ph - ((Math.log10(y) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0))) * ph
    : (y) => m.t + ph - ((y - y0) / (y1 - y0)) * ph;
  const r = (v) => Math.round(v * 10) / 10;

  for (const t of yt) {
    out.push(`<line x1="${m.l}" y1="${r(sy(t))}" x2="${m.l + pw}" y2="${r(sy(t))}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.l - 6}" y="${r(sy(t)) + 4}" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const t of xt) {
    if (t < x0 - 1e-9 || t > x1 + 1e-9) continue;
    out.push(`<line x1="${r(sx(t))}" y1="${m.t}" x2="${r(sx(t))}" y2="${m.t + ph}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${r(sx(t))}" y="${m.t + ph + 16}" text-anchor="middle">${fmt(t)}</text>`);
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${m.l + pw / 2}" y="${H - 10}" text-anchor="middle">${esc(opts.xLabel ?? '')}</text>`);
  out.push(
    `<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel ?? '')}${opts.yLog ? ' (log)' : ''}</text>`,
  );

  for (const h of hl) {
    out.push(`<line x1="${m.l}" y1="${r(sy(h.y))}" x2="${m.l + pw}" y2="${r(sy(h.y))}" stroke="#888" stroke-dasharray="2,3"/>`);
    if (h.label) out.push(`<text x="${m.l + pw - 4}" y="${r(sy(h.y)) - 4}" text-anchor="end" fill="#555">${esc(h.label)}</text>`);
  }
  series.forEach((s, i) => {
    const c = s.color ?? COLORS[i % COLORS.length];
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    if (pts.length > 1) {
      out.push(
        `<polyline fill="none" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6,4"' : ''} points="${pts.map(([x, y]) => `${r(sx(x))},${r(sy(y))}`).join(' ')}"/>`,
      );
    }
    for (const [x, y] of pts) out.push(`<circle cx="${r(sx(x))}" cy="${r(sy(y))}" r="3" fill="${c}"/>`);
    // legend
    const ly = m.t + 8 + i * 16;
    out.push(
      `<line x1="${m.l + 10}" y1="${ly}" x2="${m.l + 30}" y2="${ly}" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6,4"' : ''}/>`,
    );
    out.push(`<text x="${m.l + 36}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
