// The Precompiled normalizer: SentencePiece's compiled normalization rules (`precompiled_charsmap`
// in a model's normalizer_spec, base64 in tokenizer.json), as XLM-RoBERTa, T5, ALBERT and other
// SentencePiece models carry them. The blob is a little-endian u32 trie size, a darts-clone double
// array of that many bytes, then the replacement strings, each ending in NUL. Read exactly as the
// Rust crate spm_precompiled (which `tokenizers` uses) reads it, including its quirks: a grapheme
// cluster shorter than 6 bytes is looked up whole and replaced by the replacement of its SHORTEST
// matching prefix; otherwise each character is looked up on its own.
//
// Threading: immutable after construction; normalize is const and safe from any thread.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/text/normalized_string.h"

namespace bert {

class PrecompiledCharsmap {
 public:
  // Throws EngineError(kTokenizerInvalid) naming `what` when the blob is malformed.
  PrecompiledCharsmap(std::string blob, const std::string& what);

  // The replacement for the shortest prefix of `chunk` the trie holds, if any.
  std::optional<std::string_view> transform(std::string_view chunk) const;

  void normalize(NormalizedString& s) const;

 private:
  std::vector<uint32_t> trie_;
  std::string normalized_;  // the replacement strings
};

}  // namespace bert
