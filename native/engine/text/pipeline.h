// The general tokenizer.json pipeline for one text, as `tokenizers` runs it:
//   added tokens (raw text) -> normalizer (per remaining piece) -> added tokens (normalized text)
//   -> pre-tokenizer -> model (per piece, stopping early when truncation allows)
// then each token's offsets back to the original text (NormalizedString alignments -> bytes ->
// characters with Rust's BytesToCharOffsetConverter), and later, after truncation, the
// post-processor's offset trimming (in characters, as Rust does it) and the conversion to UTF-16.
//
// Threading: immutable after construction; encode is const and safe from any thread (per-thread
// scratch only).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/text/added_vocabulary.h"
#include "engine/text/decoders.h"
#include "engine/text/encoding.h"
#include "engine/text/models.h"
#include "engine/text/normalizers.h"
#include "engine/text/post_processors.h"
#include "engine/text/pre_tokenizers.h"

namespace bert {

// One text's tokens before truncation and post-processing.
struct RawSequence {
  std::vector<int64_t> ids;
  std::vector<std::pair<uint32_t, uint32_t>> offsets;  // characters (code points) of the text
  std::vector<std::pair<uint32_t, uint32_t>> trims;    // per token lead/trail, when trimming
  std::vector<uint32_t> utf16_of_char;                 // prefix sums; empty: the text is ASCII
  // Where pre-tokenized pieces start (BERT fast path, when record_splits): per token 1 = starts a
  // piece the model tokenized, 2 = an added token (a piece of its own), 0 = inside a piece.
  bool record_splits = false;
  std::vector<uint8_t> splits;
  // Tokenizing stopped at the limit with text left (not in `ids`): the encoding is truncated even
  // when truncation itself then drops nothing.
  bool stopped_early = false;
  void clear() {
    stopped_early = false;
    ids.clear();
    offsets.clear();
    trims.clear();
    utf16_of_char.clear();
    splits.clear();
  }
  size_t size() const { return ids.size(); }
  // Rust Encoding::truncate(keep, stride 0, direction), without the overflowing part.
  void keep(size_t n, bool from_end);
  // What Rust's tokenize_with_limit would have kept of these tokens (from `splits`): pieces up to the
  // first one the model tokenized that brings the count to `limit` (from the end when `from_end`).
  void limit_pieces(size_t limit, bool from_end);
};

struct PipelineParts {
  NormalizerPtr normalizer;       // may be null
  PreTokenizerPtr pre_tokenizer;  // may be null
  ModelPtr model;
  PostProcessorPtr post_processor;  // may be null
  DecoderPtr decoder;               // may be null
  AddedVocabulary added;
};

class Pipeline {
 public:
  explicit Pipeline(PipelineParts parts);
  const PipelineParts& parts() const { return parts_; }
  bool trims() const { return !trim_passes_.empty(); }

  // `limit` > 0: pieces are tokenized until at least `limit` tokens exist, from the end when
  // `from_end` (Rust tokenize_with_limit); the rest is dropped. Throws EngineError as the model does.
  void encode(std::string_view text, size_t limit, bool from_end, RawSequence& out) const;

  // The post-processor's offset trimming (its passes, in order) and the conversion to UTF-16.
  void finish(RawSequence& raw, SequenceTokens& out) const;

 private:
  PipelineParts parts_;
  std::vector<bool> trim_passes_;
};

}  // namespace bert
