// The report's section on reduced precision against float32 on the trained fixtures (bench/trained.js
// measures) and their targets. Nothing is asserted.

const pct = (x) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '–');
const fx = (x, d) => (Number.isFinite(x) ? x.toFixed(d) : '–');
function table(head, rows) {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

// Issue 26's accuracy targets: [model, variant, measure, minimum, label].
const TARGETS = [
  ['mlm', 'bf16', 'top1_agreement', 0.99, 'fill-mask top-1 agreement'],
  ['mlm', 'bf16', 'top5_set_agreement', 0.95, 'fill-mask identical top-5 sets'],
  ['mlm', 'int8', 'top1_agreement', 0.97, 'fill-mask top-1 agreement'],
  ['mlm', 'int8', 'top5_set_agreement', 0.9, 'fill-mask identical top-5 sets'],
  ['embed', 'bf16', 'min_cosine', 0.999, 'embeddings: lowest cosine with float32'],
  ['embed', 'int8', 'min_cosine', 0.99, 'embeddings: lowest cosine with float32'],
  ['classify', 'bf16', 'label_agreement', 0.99, 'classifier label agreement'],
  ['classify', 'int8', 'label_agreement', 0.98, 'classifier label agreement'],
];

/** Where the top-1 answers flipped: float32's largest own top-1/top-2 gap among them. */
const flips = (gap) => (Number.isFinite(gap) ? `; largest float32 top-1/top-2 gap among the flips ${fx(gap, 4)}` : '');

export function trainedTargets(T) {
  if (!T) return [];
  const out = [];
  for (const [model, variant, key, min, label] of TARGETS) {
    const row = T.rows.find((r) => r.model === model && r.variant === variant && r.type === 'accuracy');
    if (!row) continue;
    const v = row[key];
    const shown = key === 'min_cosine' ? fx(v, 5) : pct(v);
    // A miss says by how much, and where the answers flipped: at float32's own near-ties or not.
    const gap = row.fp32_gap_at_top1_disagreements ?? row.fp32_gap_at_disagreements;
    const why =
      Number.isFinite(v) && v < min && key !== 'min_cosine'
        ? `; ${((min - v) * 100).toFixed(1)} points short` +
          (Number.isFinite(gap) && key !== 'top5_set_agreement'
            ? `; every top-1 flip where float32's own top-1/top-2 gap was <= ${fx(gap, 3)}`
            : '')
        : '';
    out.push({
      model: `trained/${model}`,
      target: `${variant}${row.emulated ? ' (emulated)' : ''}: ${label} >= ${key === 'min_cosine' ? min : pct(min)}`,
      measured: `${shown} over ${row.masks ?? row.texts} held-out ${row.masks ? 'masks' : 'texts'}${why}`,
      met: Number.isFinite(v) && v >= min,
    });
  }
  return out;
}

export function trainedSection(T) {
  if (!T) return [];
  const t = T.training;
  const L = ['## Reduced precision on trained models', ''];
  L.push(
    `Models trained here (test/data/trained, scripts/make_trained_models.py): a BERT masked LM, ${t.shape.num_hidden_layers} layers, hidden ${t.shape.hidden_size}, ` +
      `vocabulary ${t.vocabulary}, trained for ${t.mlm_training.steps} steps on ${t.corpus.training_tokens} tokens of real English (Python's and Perl's documentation, license texts); ` +
      `on ${t.mlm_held_out.texts} held-out masked words its float32 top-1 accuracy is ${pct(t.mlm_held_out.top1_accuracy)} (top-5 ${pct(t.mlm_held_out.top5_accuracy)}, median gap between its two best probabilities ${fx(t.mlm_held_out.median_top1_top2_probability_gap, 3)}); ` +
      `a ${t.classifier.labels.length}-label topic classifier fine-tuned from it (${t.classifier.labels.join(', ')}) is right on ${pct(t.classifier.held_out.accuracy)} of ${t.classifier.held_out.texts} held-out texts; ` +
      "the embedding model is the masked LM's encoder with mean pooling. Every text below is held out. bf16 is the float32 directory converted at load, " +
      'keeping the LayerNorms (weights and statistics), the residual sums and the head float32; bf16-throughout converts every tensor (`BERT_SERVE_MIXED_BF16=0`), for comparison' +
      (T.rows.some((r) => r.emulated)
        ? " (**emulated**: this CPU has no bf16 instructions; libtorch's generic kernels computed in float32 and rounded each result to bf16, where a CPU with bf16 instructions runs its own kernels, whose results may differ slightly)"
        : '') +
      "; int8 is export_hf.py --quantize int8 of the same checkpoint (the encoder's linear layers; the heads and pooler stay float32).",
    '',
  );
  const rows = [];
  for (const r of T.rows) {
    if (r.type !== 'accuracy') {
      rows.push([r.variant, r.reason ?? 'skipped', '', '', '']);
      continue;
    }
    if (r.task === 'fill-mask')
      rows.push([
        `${r.model} ${r.variant}`,
        `${r.masks} masks`,
        `float32 top-1 accuracy ${pct(r.fp32_top1_accuracy)}`,
        `top-1 agreement ${pct(r.top1_agreement)}, identical top-5 sets ${pct(r.top5_set_agreement)}, float32's top-1 in the variant's top 5 ${pct(r.fp32_top1_in_top5)}` +
          flips(r.fp32_gap_at_top1_disagreements),
        fx(r.max_score_diff, 4),
      ]);
    else if (r.task === 'text-classification')
      rows.push([
        `${r.model} ${r.variant}`,
        `${r.texts} texts`,
        `float32 accuracy ${pct(r.fp32_accuracy)}`,
        `label agreement ${pct(r.label_agreement)}` + flips(r.fp32_gap_at_disagreements),
        fx(r.max_score_diff, 4),
      ]);
    else if (r.task === 'feature-extraction')
      rows.push([
        `${r.model} ${r.variant}`,
        `${r.texts} texts`,
        '',
        `cosine with float32: lowest ${fx(r.min_cosine, 6)}, 1st percentile ${fx(r.p1_cosine, 6)}, mean ${fx(r.mean_cosine, 6)}`,
        '',
      ]);
  }
  L.push(table(['Model and variant', 'Held-out', 'float32 itself', 'Agreement with float32', 'Largest score difference'], rows), '');
  return L;
}
