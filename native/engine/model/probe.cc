#include "engine/model/probe.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "engine/errors.h"
#include "engine/log.h"

namespace bert {
namespace {

// Sentences any English vocabulary tokenizes into ordinary words; their ids differ from position to
// position and from row to row, unlike the one repeated id that cannot tell a swapped argument.
constexpr const char* kLong = "the quick brown fox jumps over the lazy dog near the old river bank in the evening .";
constexpr const char* kShort = "paris is the capital of france .";
constexpr const char* kPairA = "where do you live ?";
constexpr const char* kPairB = "in a small house by the sea .";

// Rows this long at most: enough positions to tell, cheap for any model.
constexpr int64_t kMaxLen = 16;

std::string index_str(int64_t flat, at::IntArrayRef sizes) {
  std::vector<int64_t> idx(sizes.size());
  for (int64_t d = static_cast<int64_t>(sizes.size()) - 1; d >= 0; --d) {
    idx[static_cast<size_t>(d)] = sizes[static_cast<size_t>(d)] ? flat % sizes[static_cast<size_t>(d)] : 0;
    flat = sizes[static_cast<size_t>(d)] ? flat / sizes[static_cast<size_t>(d)] : 0;
  }
  std::string out = "[";
  for (size_t i = 0; i < idx.size(); ++i) out += (i ? ", " : "") + std::to_string(idx[i]);
  return out + "]";
}

std::string value_str(float v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::ostringstream s;
  s << v;
  return s.str();
}

// Unknown words (a small vocabulary has few of the sentences' words) become ordinary ids spread over
// the vocabulary, each different, so that every row still has distinct ids.
void replace_unknown(std::vector<int64_t>& ids, const Tokenizer& tok, int64_t vocab, int64_t& next) {
  for (auto& id : ids) {
    if (id != tok.unk_id()) continue;
    for (int64_t tries = 0; tries < vocab; ++tries) {
      next = (next + 7919) % vocab;  // a prime stride visits every id of a vocabulary it does not divide
      if (!tok.is_special(next)) break;
    }
    id = next;
  }
}

PaddedBatch make_batch(const std::vector<std::vector<int64_t>>& rows, const std::vector<std::vector<int64_t>>& types, int64_t pad,
                       const torch::Device& device) {
  const int64_t n = static_cast<int64_t>(rows.size());
  int64_t seq = 0;
  for (const auto& r : rows) seq = std::max<int64_t>(seq, static_cast<int64_t>(r.size()));
  auto opts = torch::TensorOptions().dtype(torch::kLong);
  PaddedBatch b;
  b.input_ids = torch::full({n, seq}, pad, opts);
  b.attention_mask = torch::zeros({n, seq}, opts);
  b.token_type_ids = torch::zeros({n, seq}, opts);
  auto ids = b.input_ids.accessor<int64_t, 2>();
  auto mask = b.attention_mask.accessor<int64_t, 2>();
  auto tt = b.token_type_ids.accessor<int64_t, 2>();
  for (int64_t i = 0; i < n; ++i) {
    const auto& r = rows[static_cast<size_t>(i)];
    for (size_t j = 0; j < r.size(); ++j) {
      ids[i][static_cast<int64_t>(j)] = r[j];
      mask[i][static_cast<int64_t>(j)] = 1;
      tt[i][static_cast<int64_t>(j)] = types[static_cast<size_t>(i)][j];
    }
  }
  b.input_ids = b.input_ids.to(device);
  b.attention_mask = b.attention_mask.to(device);
  b.token_type_ids = b.token_type_ids.to(device);
  b.seq_len = seq;
  return b;
}

constexpr const char* kWhatToDo =
    "if forward takes its inputs in another order or with another meaning, name its parameters input_ids, attention_mask and "
    "token_type_ids (they are matched by name), or export the checkpoint with scripts/export_hf.py";

}  // namespace

std::string Probe::describe() const {
  std::string out = std::to_string(lengths.size()) + " rows of ";
  for (size_t i = 0; i < lengths.size(); ++i) out += (i ? (i + 1 == lengths.size() ? " and " : ", ") : "") + std::to_string(lengths[i]);
  out += " tokens";
  if (pair) out += ", one a pair with token types";
  return out;
}

Probe make_probe(const Model& model, const Tokenizer& tok, bool with_mask) {
  const int64_t vocab = std::min<int64_t>(static_cast<int64_t>(tok.vocab_size()), model.config().vocab_size);
  const int64_t max_len =
      std::max<int64_t>(4, std::min<int64_t>({kMaxLen, model.config().max_tokens(), static_cast<int64_t>(tok.config().model_max_length)}));
  int64_t next = vocab / 3;
  std::vector<std::vector<int64_t>> rows, types;
  // Rows are laid out by the tokenizer itself (its special tokens, its post-processor's pair layout
  // and type ids), so the probe sends what the engine will send.
  auto add = [&](std::vector<int64_t> ids, const std::vector<uint32_t>& type_ids) {
    replace_unknown(ids, tok, vocab, next);
    std::vector<int64_t> t(ids.size(), 0);
    for (size_t i = 0; i < t.size() && i < type_ids.size(); ++i) t[i] = type_ids[i];
    rows.push_back(std::move(ids));
    types.push_back(std::move(t));
  };
  auto add_encoding = [&](const Encoding& e) { add(e.ids, e.type_ids); };
  add_encoding(tok.encode(kLong, true, static_cast<size_t>(max_len)));
  add_encoding(tok.encode(kShort, true, static_cast<size_t>(std::max<int64_t>(3, std::min<int64_t>(max_len - 2, 9)))));
  Probe p;
  // A pair where the model has a second token type (a RoBERTa may take token_type_ids but has one
  // type; DistilBERT and MPNet take none), one token shorter than the longest row, as the
  // post-processor lays it out (BERT: [CLS] a [SEP] b [SEP], types 1 from b on); when there is room
  // for both texts beside up to four special tokens.
  if (model.forward_inputs() >= 3 && model.config().token_types && max_len - 1 >= 8) {
    EncodeOptions o;
    o.max_length = static_cast<size_t>(max_len - 1);
    add_encoding(tok.encode_pair(kPairA, kPairB, o));
    p.pair = true;
  }
  if (with_mask && tok.mask_id() >= 0) {
    if (rows[0].size() > 3) rows[0][2] = tok.mask_id();
    if (rows[1].size() > 2) rows[1][1] = tok.mask_id();
  }
  const torch::Device device = model.spec().device;
  // Padding is masked out; a tokenizer without a pad token pads with id 0 (as the engine).
  const int64_t pad = std::max<int64_t>(0, tok.pad_id());
  p.batch = make_batch(rows, types, pad, device);
  std::vector<int64_t> flat;
  for (size_t i = 0; i < rows.size(); ++i) {
    p.lengths.push_back(static_cast<int64_t>(rows[i].size()));
    p.alone.push_back(make_batch({rows[i]}, {types[i]}, pad, device));
    for (size_t j = 0; j < rows[i].size(); ++j) flat.push_back(static_cast<int64_t>(i) * p.batch.seq_len + static_cast<int64_t>(j));
  }
  p.real_positions = torch::tensor(flat, torch::TensorOptions().dtype(torch::kLong)).to(device);
  return p;
}

double probe_tolerance(const Model& model) {
  if (!model.config().quantized_engine.empty()) return 0.25;
  return model.spec().dtype == torch::kFloat ? 1e-3 : 5e-2;
}

torch::Tensor probe_forward(Model& model, const Probe& probe) {
  try {
    torch::Tensor out = model.forward(probe.batch);
    if (model.rewrite_unsettled()) {
      // The load-time rewriting (graph_opt.h) is a faster path too: checked against the file's graphs
      // on the whole probe output before it serves.
      const std::string diff = compare(out, model.forward_as_loaded(probe.batch), probe_tolerance(model));
      model.settle_rewrite(diff);
      if (!diff.empty()) out = model.forward(probe.batch);
    }
    return out;
  } catch (const EngineError&) {
    throw;
  } catch (const std::exception& e) {
    log_event(LogLevel::kWarn, "forward failed on the load-time probe", {{"model", model.path()}, {"error", e.what()}});
    throw EngineError(ErrorCode::kModelInvalid, model.path() + ": forward failed on the load-time probe (" + probe.describe() +
                                                    ", int64 [batch, seq] inputs) called as " + model.signature() + model.failure_hint());
  }
}

void check_answer_shape(const Model& model, const Probe& probe, const torch::Tensor& out, bool per_token, int64_t width,
                        const std::string& must) {
  const int64_t dims = per_token ? 3 : 2;
  if (out.dim() == dims && out.size(0) == probe.batch.input_ids.size(0) && (!per_token || out.size(1) == probe.batch.seq_len) &&
      (width < 0 || out.size(dims - 1) == width))
    return;
  throw EngineError(ErrorCode::kModelInvalid, model.path() + ": forward returned " + shape_str(out) + " for a " +
                                                  shape_str(probe.batch.input_ids) + " input; a " + model.config().architecture +
                                                  " must return " + must);
}

void check_forward(Model& model, const Probe& probe, const torch::Tensor& full_in, bool per_token) {
  const double tol = probe_tolerance(model);
  const torch::Tensor full = full_in.to(torch::kFloat).cpu();
  for (size_t r = 0; r < probe.lengths.size(); ++r) {
    const int64_t row = static_cast<int64_t>(r);
    const torch::Tensor in_batch = per_token ? full[row].narrow(0, 0, probe.lengths[r]) : full[row];
    const torch::Tensor bad = torch::isfinite(in_batch).logical_not().reshape({-1});
    if (bad.any().item<bool>()) {
      const int64_t at = bad.nonzero()[0][0].item<int64_t>();
      throw EngineError(ErrorCode::kModelInvalid, model.path() + ": forward gives " + value_str(in_batch.reshape({-1})[at].item<float>()) +
                                                      " at " + index_str(at, in_batch.sizes()) + " of row " + std::to_string(r) +
                                                      " of the load-time probe (" + probe.describe() + " of ordinary words), called as " +
                                                      model.signature() + "; " + kWhatToDo);
    }
    torch::Tensor alone;
    try {
      alone = model.forward(probe.alone[r]).to(torch::kFloat).cpu();
    } catch (const std::exception& e) {
      throw EngineError(ErrorCode::kModelInvalid, model.path() + ": forward failed on row " + std::to_string(r) +
                                                      " of the load-time probe alone (" + e.what() + ")" + model.failure_hint());
    }
    if (alone.dim() != full.dim() || alone.size(0) != 1 || (per_token && alone.size(1) < probe.lengths[r]))
      throw EngineError(ErrorCode::kModelInvalid, model.path() + ": forward returned " + shape_str(alone) + " for one row of " +
                                                      std::to_string(probe.lengths[r]) + " tokens but " + shape_str(full) + " for " +
                                                      shape_str(probe.batch.input_ids));
    const torch::Tensor own = per_token ? alone[0].narrow(0, 0, probe.lengths[r]) : alone[0];
    const std::string diff = compare(in_batch, own, tol);
    if (!diff.empty())
      throw EngineError(ErrorCode::kModelInvalid, model.path() + ": forward answers row " + std::to_string(r) +
                                                      " of the load-time probe (" + probe.describe() +
                                                      ") differently in a padded batch and alone (" + diff +
                                                      "): its attention mask does not do what the engine "
                                                      "passes it for. The engine calls " +
                                                      model.signature() + "; " + kWhatToDo);
  }
}

std::string compare(const torch::Tensor& got_in, const torch::Tensor& want_in, double tol) {
  if (got_in.sizes() != want_in.sizes()) return "shape " + shape_str(got_in) + " instead of " + shape_str(want_in);
  const torch::Tensor got = got_in.to(torch::kFloat).cpu().contiguous().reshape({-1});
  const torch::Tensor want = want_in.to(torch::kFloat).cpu().contiguous().reshape({-1});
  if (want.numel() == 0) return "";
  const torch::Tensor want_finite = torch::isfinite(want);
  const torch::Tensor lost = want_finite.logical_and(torch::isfinite(got).logical_not());
  if (lost.any().item<bool>()) {
    const int64_t at = lost.nonzero()[0][0].item<int64_t>();
    return value_str(got[at].item<float>()) + " at " + index_str(at, got_in.sizes()) + " where the full forward gives " +
           value_str(want[at].item<float>());
  }
  const torch::Tensor diff = (got - want).abs().masked_fill(want_finite.logical_not(), 0);
  const float scale = std::max(1.0f, want.masked_fill(want_finite.logical_not(), 0).abs().max().item<float>());
  const int64_t at = diff.argmax().item<int64_t>();
  const float worst = diff[at].item<float>();
  if (worst <= tol * scale) return "";
  std::ostringstream s;
  s << "differs by " << worst << " at " << index_str(at, got_in.sizes()) << " (" << value_str(got[at].item<float>()) << " instead of "
    << value_str(want[at].item<float>()) << "; allowed " << tol * scale << ")";
  return s.str();
}

}  // namespace bert
