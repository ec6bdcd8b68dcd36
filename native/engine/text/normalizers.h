// tokenizer.json's normalizers: each rewrites a NormalizedString with Hugging Face's alignment
// bookkeeping, so that offsets stay exact through length changes. Ports of `tokenizers`'
// BertNormalizer, NFD/NFKD/NFC/NFKC, Lowercase, Strip, StripAccents, Replace, Prepend, Precompiled,
// Nmt and Sequence.
//
// Threading: a built normalizer is immutable; normalize() is const and safe from any thread.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/text/normalized_string.h"
#include "engine/text/precompiled.h"
#include "engine/text/regex.h"
#include "engine/text/unicode_normalization.h"

namespace bert {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(NormalizedString& s) const = 0;
  // The tokenizer.json type, with its settings, for /info: e.g. "Sequence[Precompiled, Replace]".
  virtual std::string describe() const = 0;
};
using NormalizerPtr = std::shared_ptr<const Normalizer>;

struct BertNormalizerOptions {
  bool clean_text = true, handle_chinese_chars = true, strip_accents = true, lowercase = true;
};

NormalizerPtr make_bert_normalizer(const BertNormalizerOptions& o);
NormalizerPtr make_unicode_normalizer(unicode::NormalForm form);
NormalizerPtr make_lowercase_normalizer();
NormalizerPtr make_strip_normalizer(bool left, bool right);
NormalizerPtr make_strip_accents_normalizer();
NormalizerPtr make_replace_normalizer(std::shared_ptr<const Regex> pattern, std::string content);
NormalizerPtr make_prepend_normalizer(std::string prepend);
NormalizerPtr make_precompiled_normalizer(std::shared_ptr<const PrecompiledCharsmap> charsmap);
NormalizerPtr make_nmt_normalizer();
NormalizerPtr make_byte_level_normalizer();
NormalizerPtr make_sequence_normalizer(std::vector<NormalizerPtr> normalizers);

// The Rust NormalizedString::filter / map primitives (also used by the pre-tokenizers' tests).
void filter_chars(NormalizedString& s, bool (*keep)(char32_t));
void map_chars(NormalizedString& s, char32_t (*fn)(char32_t));

// Every byte becomes its GPT-2 character (the ByteLevel normalizer, and the ByteLevel pre-tokenizer's
// second step): the bytes after a character's first are insertions.
void byte_level_transform(NormalizedString& s);

// The matches of `pattern` in `text` as the Replace normalizer and decoder see them.
void replace_matches(const Regex& pattern, const std::string& text, std::vector<NormalizedString::Range>& out);

}  // namespace bert
