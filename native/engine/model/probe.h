// Load-time probes: what a model is served with must be what its forward means, on inputs that can
// tell. A probe batch holds 2-3 rows of distinct, realistic token ids (sentences tokenized with the
// model's own vocabulary), of different lengths so that the shorter rows are padded, one of them a
// pair with token types 1 on its second text when the model takes token types (and has two).
//
// Two checks use it (docs/models.md lists what each one catches):
// - check_forward: the full forward's answer for each row in the padded batch equals the same row
//   run alone, unpadded, at every real position, and is finite there. A forward whose inputs the
//   engine misreads (ids where the mask goes, a mask convention the other way round) fails: the
//   padding then leaks into the real positions, or everything is masked, or the answer is NaN.
// - compare: a faster path (a submodule called directly, the head on selected rows) against the
//   full forward, at every real position of every row, before the faster path is used.
//
// Threading: load time only (the loading thread).
#pragma once
#include <torch/script.h>

#include <string>
#include <vector>

#include "engine/model/model.h"
#include "engine/text/tokenizer.h"

namespace bert {

struct Probe {
  PaddedBatch batch;               // the rows padded to the longest (pad id at the padding)
  std::vector<int64_t> lengths;    // real tokens per row
  std::vector<PaddedBatch> alone;  // each row by itself, unpadded
  torch::Tensor real_positions;    // int64 flat indices (row * seq + position) of every real token
  bool pair = false;               // one row is a pair with token types
  std::string describe() const;    // "3 rows of 16, 11 and 13 tokens, one a pair with token types"
};

// with_mask: rows 0 and 1 hold the mask token (fill-mask's input).
Probe make_probe(const Model& model, const Tokenizer& tokenizer, bool with_mask);

// The tolerance of the comparisons, relative to the largest magnitude of the reference (at least 1):
// 1e-3 in float32, 5e-2 in half types, 0.25 for an int8 model (dynamic quantization scales each
// layer's input by the whole batch, so a row's answer moves a little with its batch-mates).
double probe_tolerance(const Model& model);

// forward on the probe batch, its failures turned into kModelInvalid naming the probe. The first call
// also settles the load-time rewriting (Model::settle_rewrite): the rewritten module's answer against
// the file's graphs on the same batch.
torch::Tensor probe_forward(Model& model, const Probe& probe);

// Throws kModelInvalid unless `out` is the answer's shape for the probe batch: [rows, seq, width] when
// per_token, else [rows, width] (width -1: any), saying "forward returned [..] for a [..] input; a
// <architecture> must return <must>". Every head checks its probe answer's shape with it.
void check_answer_shape(const Model& model, const Probe& probe, const torch::Tensor& out, bool per_token, int64_t width,
                        const std::string& must);

// Checks `full` (probe_forward's answer: [rows, seq, ...] when per_token, else [rows, ...]) against
// each row run alone, and that it is finite at every real position. Throws kModelInvalid saying what
// differs and what to do.
void check_forward(Model& model, const Probe& probe, const torch::Tensor& full, bool per_token);

// "" when `got` reproduces `want`: same shape, every value within tol x max(1, max |want|), finite
// wherever want is. Else where and by how much they differ.
std::string compare(const torch::Tensor& got, const torch::Tensor& want, double tol);

}  // namespace bert
