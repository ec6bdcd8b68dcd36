// Shared by the tokenizer fuzz targets (tokenizer_fuzz, tokenizer_kind_fuzz): a text's UTF-16 length,
// an encoding printed for a finding, and the decode checks.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/text/tokenizer.h"
#include "engine/text/unicode.h"
#include "fuzz_common.h"

namespace bert_fuzz {

// UTF-16 code units of valid UTF-8 (the unit of offsets).
inline uint32_t utf16_length(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  uint32_t n = 0;
  for (size_t i = 0; i < s.size();) {
    char32_t cp = p[i];
    size_t len = 1;
    if (cp >= 0x80) len = bert::unicode::decode_utf8(p, s.size(), i, &cp);
    n += bert::unicode::utf16_length(cp);
    i += len;
  }
  return n;
}

inline std::string show(const bert::Encoding& e) {
  std::string s;
  for (size_t i = 0; i < e.size(); ++i)
    s += std::to_string(e.ids[i]) + "@[" + std::to_string(e.offsets[i].first) + "," + std::to_string(e.offsets[i].second) + "] ";
  return s;
}

// decode in all four skip/cleanup modes never throws and gives valid UTF-8.
inline void check_decode(const bert::Tokenizer& t, const std::vector<int64_t>& ids) {
  for (int mode = 0; mode < 4; ++mode) {
    const std::string text = t.decode(ids, mode & 1, mode & 2);
    FUZZ_CHECK(bert::unicode::find_invalid_utf8(text) == std::string_view::npos, "decode gave invalid UTF-8");
  }
}

}  // namespace bert_fuzz
