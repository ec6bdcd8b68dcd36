// The generated character tables (unicode_tables.cc, made by scripts/gen-unicode-tables.mjs): the
// classes Hugging Face's Rust tokenizer gives each code point, and where its lowercase mapping,
// canonical / compatibility decomposition, composition, combining classes and grapheme clusters
// differ from utf8proc's. docs/tokenizer.md explains
// why they exist and how to regenerate them.
//
// Threading: constant data.
#pragma once
#include <cstddef>
#include <cstdint>

namespace bert::unicode::tables {

enum : uint8_t {
  kPunctuation = 1,     // BertPreTokenizer isolates it (is_bert_punc)
  kWhitespace = 2,      // Rust char::is_whitespace
  kControl = 4,         // BertNormalizer clean_text removes it (is_control)
  kNonspacingMark = 8,  // BertNormalizer strip_accents removes it after NFD (is_mark_nonspacing)
  kChinese = 16,        // BertNormalizer handle_chinese_chars puts spaces around it
};

// The other pipeline components' classes (kPipelineProperties).
enum : uint8_t {
  kGpt2Letter = 1,      // ByteLevel's GPT-2 regex \p{L}
  kGpt2Number = 2,      // \p{N}
  kGpt2Space = 4,       // \s (everything that is none of the three is "other")
  kRegexWord = 8,       // the regex crate's \w (Whitespace pre-tokenizer, added tokens' single_word)
  kRegexSpace = 16,     // the regex crate's \s (Whitespace, added tokens' lstrip / rstrip)
  kNumeric = 32,        // Rust char::is_numeric (Digits)
  kCombiningMark = 64,  // unicode-normalization-alignments is_combining_mark (StripAccents)
};

// Indic_Conjunct_Break values (kIndicConjunct).
enum : uint8_t { kConjunctConsonant = 1, kConjunctLinker = 2, kConjunctExtend = 3 };
struct IndicConjunctRange {
  char32_t first, last;  // inclusive
  uint8_t value;
};

struct PropertyRange {
  char32_t first, last;  // inclusive
  uint8_t flags;
};
struct CodePointMap {
  char32_t from, to;
};
struct CombiningClass {
  char32_t cp;
  uint8_t ccc;
};

extern const char kOracle[];              // the `tokenizers` version the tables were read from
extern const char kBaseUnicodeVersion[];  // utf8proc's Unicode version the overrides are relative to

extern const PropertyRange kProperties[];  // sorted, disjoint
extern const size_t kPropertyCount;
extern const CodePointMap kLowercase[];  // sorted by `from`
extern const size_t kLowercaseCount;
extern const CombiningClass kCombiningClass[];  // sorted by `cp`
extern const size_t kCombiningClassCount;
extern const char32_t kNoDecomposition[];  // sorted
extern const size_t kNoDecompositionCount;

extern const PropertyRange kPipelineProperties[];  // sorted, disjoint
extern const size_t kPipelinePropertyCount;
extern const char32_t kNoCompatDecomposition[];  // sorted
extern const size_t kNoCompatDecompositionCount;
extern const char32_t kNoComposition[];  // sorted
extern const size_t kNoCompositionCount;
extern const IndicConjunctRange kIndicConjunct[];  // sorted, disjoint
extern const size_t kIndicConjunctCount;
extern const CodePointMap kGraphemeStandIns[];  // sorted by `from`
extern const size_t kGraphemeStandInCount;

}  // namespace bert::unicode::tables
