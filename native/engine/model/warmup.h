// The warm-up request every head starts from: `len` tokens, [UNK]s (or id 0 when there is no unk
// token) inside the post-processor's special tokens ([CLS] ... [SEP], <s> ... </s>), with the head's
// default options (heads add what their task needs, e.g. fill-mask's mask row).
#pragma once
#include <algorithm>
#include <memory>
#include <vector>

#include "engine/sched/request.h"
#include "engine/text/tokenizer.h"

namespace bert {

inline RequestPtr make_warmup_request(const Tokenizer& tok, size_t len, std::unique_ptr<HeadParams> params) {
  auto r = std::make_shared<Request>();
  const size_t added = std::min(len, tok.added_tokens(false));
  r->encoding = tok.encode_ids(std::vector<int64_t>(len - added, std::max<int64_t>(0, tok.unk_id())), EncodeOptions{});
  r->params = std::move(params);
  return r;
}

}  // namespace bert
