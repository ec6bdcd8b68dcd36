// UTF-16 offsets (what the tokenizer reports: JavaScript string indices) against the UTF-8 text the
// engine holds.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bert {

// Byte offset in `utf8` of each UTF-16 index (size = UTF-16 length + 1); both halves of a surrogate
// pair map to the start of their code point.
inline std::vector<uint32_t> utf16_to_byte(std::string_view utf8) {
  std::vector<uint32_t> map;
  map.reserve(utf8.size() + 1);
  for (size_t i = 0; i < utf8.size();) {
    const unsigned char c = static_cast<unsigned char>(utf8[i]);
    const size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    map.push_back(static_cast<uint32_t>(i));
    if (len == 4) map.push_back(static_cast<uint32_t>(i));
    i += len;
  }
  map.push_back(static_cast<uint32_t>(utf8.size()));
  return map;
}

// The text between two UTF-16 offsets ("" when out of range).
inline std::string_view utf16_slice(std::string_view utf8, const std::vector<uint32_t>& map, uint32_t start, uint32_t end) {
  if (end <= start || end >= map.size()) return {};
  return utf8.substr(map[start], map[end] - map[start]);
}

// Code points in valid UTF-8 (Python's len() of the same string).
inline size_t codepoints(std::string_view utf8) {
  size_t n = 0;
  for (unsigned char c : utf8) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace bert
