// Turns what a request carries (a text, a sentence pair, or pre-tokenized ids) into the Encoding the
// model runs on, under the per-request token limit: truncated (right or left, longest-first for pairs)
// when the request or the engine asks for it, refused with kInputTooLong otherwise.
//
// Threading: stateless; runs on the engine's prep thread.
#pragma once
#include <cstddef>

#include "engine/sched/request.h"
#include "engine/text/tokenizer.h"

namespace bert {

struct InputLimits {
  size_t max_tokens = 512;       // specials included
  bool truncate_by_default = false;
};

// Fills r.encoding and r.pair_start. Throws EngineError (kInputTooLong, kInvalidArgument).
void encode_request(const Tokenizer& tokenizer, Request& r, const InputLimits& limits);

}  // namespace bert
