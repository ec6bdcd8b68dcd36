// Unicode helpers for the BERT tokenizer: strict UTF-8 decoding and the character predicates of
// Hugging Face's BertNormalizer / BertPreTokenizer. The predicates are those of the Rust `tokenizers`
// library itself, whose Unicode tables are older than utf8proc's: classes come from the generated
// table (unicode_tables.cc, read off `tokenizers` by scripts/gen-unicode-tables.mjs); NFD, combining
// classes and lowercase from utf8proc, with that table's overrides. See docs/tokenizer.md.
//
// Threading: free functions over read-only data (utf8proc's and the generated tables; the lookup
// index over the latter is built once, on first use, thread-safely); safe from any thread.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace bert::unicode {

// Decodes one code point from a UTF-8 sequence starting at s[i] (s[i] >= 0x80). Returns the number
// of bytes consumed, or 0 when the sequence is invalid (truncated, overlong, surrogate, > U+10FFFF).
// Strict on purpose: the tokenizer rejects invalid input instead of guessing what it meant.
inline size_t decode_utf8(const unsigned char* s, size_t n, size_t i, char32_t* out) {
  const unsigned char c = s[i];
  if (c < 0xC2) return 0;  // continuation byte or overlong 2-byte lead
  if (c < 0xE0) {
    if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) return 0;
    *out = (char32_t(c & 0x1F) << 6) | (s[i + 1] & 0x3F);
    return 2;
  }
  if (c < 0xF0) {
    if (i + 2 >= n) return 0;
    const unsigned char c1 = s[i + 1], c2 = s[i + 2];
    if ((c1 & 0xC0) != 0x80 || (c2 & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && c1 < 0xA0) return 0;   // overlong
    if (c == 0xED && c1 >= 0xA0) return 0;  // UTF-16 surrogate
    *out = (char32_t(c & 0x0F) << 12) | (char32_t(c1 & 0x3F) << 6) | (c2 & 0x3F);
    return 3;
  }
  if (c < 0xF5) {
    if (i + 3 >= n) return 0;
    const unsigned char c1 = s[i + 1], c2 = s[i + 2], c3 = s[i + 3];
    if ((c1 & 0xC0) != 0x80 || (c2 & 0xC0) != 0x80 || (c3 & 0xC0) != 0x80) return 0;
    if (c == 0xF0 && c1 < 0x90) return 0;   // overlong
    if (c == 0xF4 && c1 >= 0x90) return 0;  // > U+10FFFF
    *out = (char32_t(c & 0x07) << 18) | (char32_t(c1 & 0x3F) << 12) | (char32_t(c2 & 0x3F) << 6) | (c3 & 0x3F);
    return 4;
  }
  return 0;
}

// Byte index of the first invalid UTF-8 sequence in `s`, or npos when it is all valid.
size_t find_invalid_utf8(std::string_view s);

inline void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

inline uint32_t utf16_length(char32_t cp) { return cp >= 0x10000 ? 2 : 1; }

// --- Predicates, each named after the Hugging Face (Rust) function it reproduces. ---

// Rust `char::is_whitespace` (the White_Space property).
bool is_rust_whitespace(char32_t cp);

// BertNormalizer `is_whitespace`: '\t' '\n' '\r' or Rust whitespace.
inline bool is_bert_whitespace(char32_t cp) { return cp == '\t' || cp == '\n' || cp == '\r' || is_rust_whitespace(cp); }

// BertNormalizer `is_control` (unicode_categories' `is_other()`: Cc, Cf or Co as of its old tables),
// except '\t' '\n' '\r' (those are whitespace).
bool is_bert_control(char32_t cp);

// BertPreTokenizer `is_bert_punc`: ASCII punctuation (33-47, 58-64, 91-96, 123-126) or category P*
// as of unicode_categories' old tables.
bool is_bert_punctuation(char32_t cp);

// BertNormalizer `is_chinese_char`. Hugging Face's ranges, including its 0x2B920 start of the fifth
// range (Google's BERT has 0x2B820): U+2B820..U+2B91F are NOT split off by Hugging Face.
bool is_chinese_char(char32_t cp);

// unicode_categories' `is_mark_nonspacing` (what strip_accents removes after NFD).
bool is_nonspacing_mark(char32_t cp);

// Canonical_Combining_Class as the oracle's NFD knows it (0 for starters and for marks it lacks).
uint8_t combining_class(char32_t cp);

// Full canonical decomposition of ONE code point (Hangul included) as the oracle's NFD knows it,
// without the canonical reordering step (the caller reorders across characters). Writes up to `cap`
// code points; returns the count.
size_t nfd_char(char32_t cp, char32_t* out, size_t cap);

// Rust `char::to_lowercase` (full lowercase mapping, no context): the simple 1:1 mapping (utf8proc's,
// with the table's overrides where Rust's Unicode is newer), except U+0130, the only character whose
// unconditional full lowercase (SpecialCasing.txt) has more than one code point: "i\u0307". Writes 1
// or 2 code points; returns the count.
char32_t simple_lowercase(char32_t cp);

// --- Classes of the other pipeline components (tokenizer.json), each as the code Hugging Face runs
// decides it; from the generated table (unicode_tables.cc), read off `tokenizers` itself. ---

// The ByteLevel pre-tokenizer's GPT-2 regex (Oniguruma, as bundled in `tokenizers`): \p{L}, \p{N}, \s.
bool is_gpt2_letter(char32_t cp);
bool is_gpt2_number(char32_t cp);
bool is_gpt2_space(char32_t cp);

// The Rust `regex` crate's Unicode \w and \s (Whitespace pre-tokenizer, added tokens' single_word,
// lstrip and rstrip).
bool is_regex_word(char32_t cp);
bool is_regex_space(char32_t cp);

// Rust `char::is_numeric` (the Digits pre-tokenizer).
bool is_numeric(char32_t cp);

// unicode-normalization-alignments' `is_combining_mark` (the StripAccents normalizer).
bool is_combining_mark(char32_t cp);

// Code points utf8proc composes / decomposes (compatibility) that the normalization crate `tokenizers`
// uses (Unicode 9.0) does not: left alone by NFC/NFKC and NFKD.
bool is_composition_excluded(char32_t cp);
bool is_compat_decomposition_unknown(char32_t cp);

// The code point utf8proc's grapheme rules should see for `cp`: `cp` itself, or, where utf8proc's
// Grapheme_Cluster_Break differs from unicode-segmentation's in `tokenizers`, a character that has
// the latter's property.
char32_t grapheme_stand_in(char32_t cp);

// The Unicode version of the utf8proc library linked in (the table's overrides assume
// tables::kBaseUnicodeVersion).
const char* library_unicode_version();

inline size_t to_lowercase(char32_t cp, char32_t* out) {
  if (cp == 0x130) {
    out[0] = 'i';
    out[1] = 0x307;
    return 2;
  }
  out[0] = cp < 0x80 ? ((cp >= 'A' && cp <= 'Z') ? cp + 32 : cp) : simple_lowercase(cp);
  return 1;
}

}  // namespace bert::unicode
