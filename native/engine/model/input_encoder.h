// Turns what a request carries (a text, a sentence pair, or pre-tokenized ids) into the Encoding the
// model runs on, through the tokenizer's post-processor (its special tokens and type ids: BERT
// "[CLS] A [SEP] B [SEP]", RoBERTa "<s> A </s></s> B </s>"), under the per-request token limit:
// truncated (right or left, longest-first for pairs) when the request or the engine asks for it,
// refused with kInputTooLong otherwise.
//
// Threading: stateless; runs on the engine's prep thread.
#pragma once
#include <cstddef>

#include "engine/sched/request.h"
#include "engine/text/tokenizer.h"

namespace bert {

struct InputLimits {
  size_t max_tokens = 512;  // specials included
  bool truncate_by_default = false;
};

// Fills r.encoding. Throws EngineError (kInputTooLong, kInvalidArgument).
void encode_request(const Tokenizer& tokenizer, Request& r, const InputLimits& limits);

}  // namespace bert
