// BertFastPath: Hugging Face's BERT pipeline (BertNormalizer, BertPreTokenizer, WordPiece, special
// tokens matched in the raw text) in ONE pass over the input, with no intermediate normalized
// string: the fast path the Tokenizer takes when a tokenizer.json (or vocab.txt) is exactly that
// pipeline. It gives the same tokens and offsets as the general pipeline (pipeline.cc), which the C++
// tests check on the golden texts, several times faster.
//
// Threading: immutable after construction; encode is const and safe from any thread (per-thread
// scratch only).
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/text/models.h"
#include "engine/text/normalizers.h"
#include "engine/text/pipeline.h"
#include "engine/text/vocab.h"

namespace bert {

class BertFastPath {
 public:
  struct Options {
    BertNormalizerOptions normalizer;
    size_t max_input_chars_per_word = 100;
  };
  struct Added {
    std::string content;
    int32_t id;
    bool lstrip, rstrip;
  };
  // `model` must be a WordPiece model (wordpiece_vocab() gives its vocabulary).
  BertFastPath(const Options& options, std::shared_ptr<const Model> model, const std::vector<Added>& added);
  ~BertFastPath();

  // One text's tokens, offsets already in UTF-16. limit > 0: stops once more than `limit` tokens
  // exist (right truncation follows). Invalid UTF-8 is refused with EngineError(kInvalidArgument).
  void encode(std::string_view text, size_t limit, RawSequence& out) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace bert
