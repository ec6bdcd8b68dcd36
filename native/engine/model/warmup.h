// The warm-up request every head starts from: [CLS] [UNK] ... [UNK] [SEP] of `len` tokens with the
// head's default options (heads add what their task needs, e.g. fill-mask's mask row).
#pragma once
#include <memory>

#include "engine/sched/request.h"
#include "engine/text/tokenizer.h"

namespace bert {

inline RequestPtr make_warmup_request(const Tokenizer& tok, size_t len, std::unique_ptr<HeadParams> params) {
  auto r = std::make_shared<Request>();
  r->encoding.ids.assign(len, tok.unk_id());
  r->encoding.ids.front() = tok.cls_id();
  r->encoding.ids.back() = tok.sep_id();
  r->encoding.offsets.assign(len, {0, 0});
  r->params = std::move(params);
  return r;
}

}  // namespace bert
