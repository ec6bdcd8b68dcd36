#include "engine/text/unicode.h"

#include <utf8proc.h>

#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/text/unicode_tables.h"

namespace bert::unicode {

namespace {

// Bits beside the table's classes: "this code point has an override" (see unicode_tables.h).
constexpr uint8_t kHasLowercase = 32, kHasCombiningClass = 64, kNoDecomposition = 128;

// One byte per code point in a two-stage table (256-code-point blocks, identical blocks shared:
// about 60 KiB each), so a class costs two loads instead of a search.
class TwoStageTable {
 public:
  static constexpr size_t kCodePoints = 0x110000;
  // `flat`: kCodePoints bytes, from the generated ranges; `extra` then sets more bits in it.
  TwoStageTable(const tables::PropertyRange* ranges, size_t n, void (*extra)(std::vector<uint8_t>&)) {
    std::vector<uint8_t> flat(kCodePoints, 0);
    for (size_t i = 0; i < n; ++i)
      for (char32_t cp = ranges[i].first; cp <= ranges[i].last; ++cp) flat[cp] |= ranges[i].flags;
    extra(flat);
    std::unordered_map<std::string, uint16_t> seen;
    for (size_t b = 0; b < kCodePoints / kBlock; ++b) {
      std::string block(reinterpret_cast<const char*>(&flat[b * kBlock]), kBlock);
      auto [it, inserted] = seen.emplace(std::move(block), static_cast<uint16_t>(seen.size()));
      if (inserted) blocks_.insert(blocks_.end(), flat.begin() + b * kBlock, flat.begin() + (b + 1) * kBlock);
      stage1_[b] = it->second;
    }
  }
  uint8_t get(char32_t cp) const {
    if (cp >= kCodePoints) return 0;
    return blocks_[size_t(stage1_[cp / kBlock]) * kBlock + cp % kBlock];
  }

 private:
  static constexpr size_t kBlock = 256;
  uint16_t stage1_[kCodePoints / kBlock] = {};
  std::vector<uint8_t> blocks_;
};

// The properties and the override bits.
inline uint8_t props(char32_t cp) {
  static const TwoStageTable index(tables::kProperties, tables::kPropertyCount, [](std::vector<uint8_t>& flat) {
    for (size_t i = 0; i < tables::kLowercaseCount; ++i) flat[tables::kLowercase[i].from] |= kHasLowercase;
    for (size_t i = 0; i < tables::kCombiningClassCount; ++i) flat[tables::kCombiningClass[i].cp] |= kHasCombiningClass;
    for (size_t i = 0; i < tables::kNoDecompositionCount; ++i) flat[tables::kNoDecomposition[i]] |= kNoDecomposition;
  });
  return index.get(cp);
}

// The pipeline classes (tables::kPipelineProperties) and the NFKD / NFC overrides.
constexpr uint8_t kNoCompat = 128;
inline uint8_t pipeline_props(char32_t cp) {
  static const TwoStageTable index(tables::kPipelineProperties, tables::kPipelinePropertyCount, [](std::vector<uint8_t>& flat) {
    for (size_t i = 0; i < tables::kNoCompatDecompositionCount; ++i) flat[tables::kNoCompatDecomposition[i]] |= kNoCompat;
  });
  return index.get(cp);
}

bool sorted_contains(const char32_t* begin, size_t n, char32_t cp) { return std::binary_search(begin, begin + n, cp); }

}  // namespace

size_t find_invalid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // Eight ASCII bytes at a time: the common case for request text.
    while (i + 8 <= n) {
      uint64_t w;
      __builtin_memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    char32_t cp;
    const size_t len = decode_utf8(p, n, i, &cp);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

bool is_rust_whitespace(char32_t cp) {
  if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
  if (cp < 0x85) return false;
  return props(cp) & tables::kWhitespace;
}

bool is_bert_control(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  return props(cp) & tables::kControl;
}

bool is_bert_punctuation(char32_t cp) { return props(cp) & tables::kPunctuation; }

bool is_chinese_char(char32_t cp) { return cp >= 0x3400 && (props(cp) & tables::kChinese); }

bool is_nonspacing_mark(char32_t cp) { return cp >= 0x300 && (props(cp) & tables::kNonspacingMark); }

uint8_t combining_class(char32_t cp) {
  if (cp < 0x300) return 0;
  if (props(cp) & kHasCombiningClass) {
    const auto* end = tables::kCombiningClass + tables::kCombiningClassCount;
    const auto* it =
        std::lower_bound(tables::kCombiningClass, end, cp, [](const tables::CombiningClass& e, char32_t c) { return e.cp < c; });
    return it->ccc;
  }
  return static_cast<uint8_t>(utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->combining_class);
}

size_t nfd_char(char32_t cp, char32_t* out, size_t cap) {
  if (cp < 0xC0 || (props(cp) & kNoDecomposition)) {  // nothing below U+00C0 decomposes canonically
    out[0] = cp;
    return 1;
  }
  int boundclass = UTF8PROC_BOUNDCLASS_START;
  static_assert(sizeof(utf8proc_int32_t) == sizeof(char32_t), "code point width");
  const utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), reinterpret_cast<utf8proc_int32_t*>(out),
                                                     static_cast<utf8proc_ssize_t>(cap), UTF8PROC_DECOMPOSE, &boundclass);
  if (n <= 0 || static_cast<size_t>(n) > cap) {  // cannot happen for valid code points; keep the char
    out[0] = cp;
    return 1;
  }
  return static_cast<size_t>(n);
}

char32_t simple_lowercase(char32_t cp) {
  if (props(cp) & kHasLowercase) {
    const auto* end = tables::kLowercase + tables::kLowercaseCount;
    const auto* it = std::lower_bound(tables::kLowercase, end, cp, [](const tables::CodePointMap& e, char32_t c) { return e.from < c; });
    return it->to;
  }
  return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)));
}

const char* library_unicode_version() { return utf8proc_unicode_version(); }

bool is_gpt2_letter(char32_t cp) { return pipeline_props(cp) & tables::kGpt2Letter; }
bool is_gpt2_number(char32_t cp) { return pipeline_props(cp) & tables::kGpt2Number; }
bool is_gpt2_space(char32_t cp) { return pipeline_props(cp) & tables::kGpt2Space; }
bool is_regex_word(char32_t cp) { return pipeline_props(cp) & tables::kRegexWord; }
bool is_regex_space(char32_t cp) { return pipeline_props(cp) & tables::kRegexSpace; }
bool is_numeric(char32_t cp) { return pipeline_props(cp) & tables::kNumeric; }
bool is_combining_mark(char32_t cp) { return pipeline_props(cp) & tables::kCombiningMark; }
bool is_compat_decomposition_unknown(char32_t cp) { return (props(cp) & kNoDecomposition) || (pipeline_props(cp) & kNoCompat); }
bool is_composition_excluded(char32_t cp) { return sorted_contains(tables::kNoComposition, tables::kNoCompositionCount, cp); }

char32_t grapheme_stand_in(char32_t cp) {
  if (tables::kGraphemeStandInCount == 0 || cp < tables::kGraphemeStandIns[0].from) return cp;
  const auto* end = tables::kGraphemeStandIns + tables::kGraphemeStandInCount;
  const auto* it =
      std::lower_bound(tables::kGraphemeStandIns, end, cp, [](const tables::CodePointMap& e, char32_t c) { return e.from < c; });
  return it != end && it->from == cp ? it->to : cp;
}

}  // namespace bert::unicode
