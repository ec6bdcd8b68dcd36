#include "engine/model/input_encoder.h"

#include <string>

#include "engine/errors.h"

namespace bert {
namespace {

[[noreturn]] void too_long(size_t n, size_t limit) {
  throw EngineError(ErrorCode::kInputTooLong, "the input is " + std::to_string(n) + " tokens long; the limit is " + std::to_string(limit) +
                                                  " (ask for truncation, or send less text)");
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
  // Truncation is the tokenizer's (Hugging Face's rules: the room for the post-processor's special
  // tokens is kept, a pair loses tokens longest-first); without it, an input over the limit is refused.
  EncodeOptions o;
  o.side = t == Truncation::kLeft ? TruncationSide::kLeft : TruncationSide::kRight;
  o.max_length = t == Truncation::kNone ? 0 : max;
  auto checked = [&](Encoding e) {
    if (t == Truncation::kNone && e.size() > max) too_long(e.size(), max);
    return e;
  };

  if (r.kind == TaskKind::kTokenize) {
    o.add_special_tokens = r.add_special_tokens;
    if (o.max_length != 0 && max < tok.added_tokens(false) * o.add_special_tokens) too_long(tok.added_tokens(false), max);
    r.encoding = checked(tok.encode(r.text, o));
    return;
  }

  const bool pair = r.has_pair;
  const size_t added = tok.added_tokens(pair);
  if (max < added) too_long(added, max);

  if (r.has_given_ids) {
    const int64_t vocab = static_cast<int64_t>(tok.vocab_size());
    for (int64_t id : r.given_ids) {
      if (id < 0 || id >= vocab)
        throw EngineError(ErrorCode::kInvalidArgument,
                          "token id " + std::to_string(id) + " is not in the vocabulary (0.." + std::to_string(vocab - 1) + ")");
    }
    if (t == Truncation::kNone && r.given_ids.size() + added > max) too_long(r.given_ids.size() + added, max);
    r.encoding = tok.encode_ids(r.given_ids, o);
    return;
  }

  if (t == Truncation::kNone) {
    const size_t at_least = min_tokens(r.text) + (pair ? min_tokens(r.text_pair) : 0) + added;
    if (at_least > max)
      throw EngineError(ErrorCode::kInputTooLong, "the input is at least " + std::to_string(at_least) + " tokens long; the limit is " +
                                                      std::to_string(max) + " (ask for truncation, or send less text)");
  }
  r.encoding = checked(pair ? tok.encode_pair(r.text, r.text_pair, o) : tok.encode(r.text, o));
}

}  // namespace bert
