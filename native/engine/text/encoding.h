// Encoding: what the tokenizer hands the model (and the /tokenize and NER answers): token ids with
// their type ids, UTF-16 offsets into the text each token came from, and which tokens the
// post-processor added.
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace bert {

struct Encoding {
  std::vector<int64_t> ids;
  // Per token [start, end) in the ORIGINAL text it came from (the first or the second of a pair), as
  // UTF-16 code-unit indices (JavaScript string indices). Tokens the post-processor added ([CLS],
  // <s>, ...) get {0, 0}, as Hugging Face reports them.
  std::vector<std::pair<uint32_t, uint32_t>> offsets;
  // token_type_ids, as the post-processor assigns them (BERT: 1 on the second text of a pair;
  // RoBERTa: all 0).
  std::vector<uint32_t> type_ids;
  // 1 on the tokens the post-processor added (Hugging Face's special_tokens_mask); special tokens
  // written in the text are 0 here, as there.
  std::vector<uint8_t> special_tokens_mask;
  bool has_special_tokens = false;  // the post-processor's special tokens were added
  bool truncated = false;
  size_t size() const { return ids.size(); }
};

// One text's tokens before post-processing.
struct SequenceTokens {
  std::vector<int64_t> ids;
  std::vector<std::pair<uint32_t, uint32_t>> offsets;
  void clear() {
    ids.clear();
    offsets.clear();
  }
};

}  // namespace bert
