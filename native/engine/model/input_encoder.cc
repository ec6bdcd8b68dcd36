#include "engine/model/input_encoder.h"

#include <algorithm>
#include <string>

#include "engine/errors.h"

namespace bert {
namespace {

void too_long(size_t n, size_t limit) {
  throw EngineError(ErrorCode::kInputTooLong, "the input is " + std::to_string(n) + " tokens long; the limit is " +
                                                  std::to_string(limit) + " (ask for truncation, or send less text)");
}

// Keeps `keep` tokens of `e` (no specials): the first ones, or the last ones for left truncation.
void cut(Encoding& e, size_t keep, bool left) {
  if (e.ids.size() <= keep) return;
  if (left) {
    const size_t drop = e.ids.size() - keep;
    e.ids.erase(e.ids.begin(), e.ids.begin() + static_cast<std::ptrdiff_t>(drop));
    e.offsets.erase(e.offsets.begin(), e.offsets.begin() + static_cast<std::ptrdiff_t>(drop));
  } else {
    e.ids.resize(keep);
    e.offsets.resize(keep);
  }
  e.truncated = true;
}

// [CLS] a [SEP] (b [SEP]); specials get offsets {0, 0} as Hugging Face reports them.
Encoding assemble(const Tokenizer& tok, const Encoding& a, const Encoding* b, size_t* pair_start) {
  Encoding out;
  const size_t n = a.ids.size() + (b ? b->ids.size() + 1 : 0) + 2;
  out.ids.reserve(n);
  out.offsets.reserve(n);
  out.ids.push_back(tok.cls_id());
  out.offsets.push_back({0, 0});
  out.ids.insert(out.ids.end(), a.ids.begin(), a.ids.end());
  out.offsets.insert(out.offsets.end(), a.offsets.begin(), a.offsets.end());
  out.ids.push_back(tok.sep_id());
  out.offsets.push_back({0, 0});
  if (b) {
    *pair_start = out.ids.size();
    out.ids.insert(out.ids.end(), b->ids.begin(), b->ids.end());
    out.offsets.insert(out.offsets.end(), b->offsets.begin(), b->offsets.end());
    out.ids.push_back(tok.sep_id());
    out.offsets.push_back({0, 0});
  }
  out.has_special_tokens = true;
  out.truncated = a.truncated || (b && b->truncated);
  return out;
}

// A lower bound on the tokens of `text`: every whitespace-separated word gives at least one. Counting
// them is a byte scan, far cheaper than tokenizing, so a text that cannot fit is refused before the
// tokenizer spends time on it (a 600k-token text took the prep thread away from everyone else).
size_t min_tokens(std::string_view text) {
  size_t words = 0;
  bool in_word = false;
  for (unsigned char c : text) {
    const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

}  // namespace

void encode_request(const Tokenizer& tok, Request& r, const InputLimits& limits) {
  const size_t max = limits.max_tokens;
  Truncation t = r.truncation;
  if (t == Truncation::kDefault) t = limits.truncate_by_default ? Truncation::kRight : Truncation::kNone;
  const bool left = t == Truncation::kLeft;
  r.pair_start = 0;

  if (r.kind == TaskKind::kTokenize) {
    r.encoding = tok.encode(r.text, r.add_special_tokens, 0);
    if (r.encoding.size() > max) {
      if (t == Truncation::kNone) too_long(r.encoding.size(), max);
      r.encoding = tok.encode(r.text, r.add_special_tokens, max);
    }
    return;
  }

  if (r.has_given_ids) {
    const int64_t vocab = static_cast<int64_t>(tok.vocab_size());
    for (int64_t id : r.given_ids) {
      if (id < 0 || id >= vocab)
        throw EngineError(ErrorCode::kInvalidArgument, "token id " + std::to_string(id) + " is not in the vocabulary (0.." +
                                                           std::to_string(vocab - 1) + ")");
    }
    Encoding a;
    a.ids = r.given_ids;
    a.offsets.assign(a.ids.size(), {0, 0});
    if (a.ids.size() + 2 > max) {
      if (t == Truncation::kNone || max < 2) too_long(a.ids.size() + 2, max);
      cut(a, max - 2, left);
    }
    r.encoding = assemble(tok, a, nullptr, nullptr);
    return;
  }

  if (t == Truncation::kNone) {
    const size_t at_least = min_tokens(r.text) + (r.has_pair ? min_tokens(r.text_pair) + 3 : 2);
    if (at_least > max)
      throw EngineError(ErrorCode::kInputTooLong, "the input is at least " + std::to_string(at_least) + " tokens long; the limit is " +
                                                      std::to_string(max) + " (ask for truncation, or send less text)");
  }

  if (!r.has_pair) {
    if (!left) {
      // The common case: one call, the tokenizer truncates from the right itself.
      r.encoding = tok.encode(r.text, true, 0);
      if (r.encoding.size() > max) {
        if (t == Truncation::kNone) too_long(r.encoding.size(), max);
        r.encoding = tok.encode(r.text, true, max);
      }
      return;
    }
    Encoding a = tok.encode(r.text, false, 0);
    if (a.ids.size() + 2 > max) {
      if (max < 2) too_long(a.ids.size() + 2, max);
      cut(a, max - 2, true);
    }
    r.encoding = assemble(tok, a, nullptr, nullptr);
    return;
  }

  Encoding a = tok.encode(r.text, false, 0);
  Encoding b = tok.encode(r.text_pair, false, 0);
  const size_t total = a.ids.size() + b.ids.size() + 3;
  if (total > max) {
    if (t == Truncation::kNone || max < 3) too_long(total, max);
    // Longest first (the Hugging Face default for pairs): tokens come off the longer sequence until
    // the pair fits; the shorter one keeps everything while it fits in half the budget.
    const size_t budget = max - 3;
    size_t la = a.ids.size(), lb = b.ids.size();
    if (la <= lb) {
      la = std::min(la, budget / 2);
      lb = budget - la;
    } else {
      lb = std::min(lb, budget / 2);
      la = budget - lb;
    }
    cut(a, la, left);
    cut(b, lb, left);
  }
  r.encoding = assemble(tok, a, &b, &r.pair_start);
}

}  // namespace bert
