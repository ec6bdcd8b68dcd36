#include "engine/text/precompiled.h"

#include <cstring>

#include "engine/errors.h"
#include "engine/text/graphemes.h"
#include "engine/text/unicode.h"

namespace bert {

namespace {

// darts-clone unit accessors (spm_precompiled's ArrayUnitTrait).
inline bool has_leaf(uint32_t u) { return (u >> 8) & 1; }
inline uint32_t value_of(uint32_t u) { return u & ((1u << 31) - 1); }
inline uint32_t label_of(uint32_t u) { return u & ((1u << 31) | 0xFF); }
inline uint32_t offset_of(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }

// Appends the changes for `old_part` replaced by `new_part` (spm_precompiled's replace()).
void replace(std::vector<CharChange>& t, std::string_view old_part, std::string_view new_part) {
  long long old_count = 0, new_count = 0;
  for (unsigned char c : old_part) old_count += (c & 0xC0) != 0x80;
  const std::string np(new_part);
  for (size_t i = 0; i < np.size();) {
    size_t n = 0;
    t.push_back({utf8_decode_at(np, i, &n), 0});
    i += n;
    ++new_count;
  }
  const long long diff = new_count - old_count;
  if (diff > 0) {
    for (long long k = 0; k < diff && static_cast<size_t>(k) < t.size(); ++k) t[t.size() - 1 - static_cast<size_t>(k)].change = 1;
  } else if (diff < 0 && !t.empty()) {
    t.back().change += static_cast<int32_t>(diff);  // may land on an earlier character: as the crate does
  }
}

}  // namespace

PrecompiledCharsmap::PrecompiledCharsmap(std::string blob, const std::string& what) {
  if (blob.size() < 4) throw EngineError(ErrorCode::kTokenizerInvalid, what + ": precompiled_charsmap is too short");
  uint32_t trie_size;
  std::memcpy(&trie_size, blob.data(), 4);  // little-endian, as on every platform this builds on
  const size_t units = trie_size / 4;
  if (units == 0 || 4 + units * 4 > blob.size())
    throw EngineError(ErrorCode::kTokenizerInvalid, what + ": precompiled_charsmap's trie size " + std::to_string(trie_size) +
                                                        " does not fit its " + std::to_string(blob.size()) + " bytes");
  trie_.resize(units);
  std::memcpy(trie_.data(), blob.data() + 4, units * 4);
  normalized_ = blob.substr(4 + units * 4);
  if (unicode::find_invalid_utf8(normalized_) != std::string_view::npos)
    throw EngineError(ErrorCode::kTokenizerInvalid, what + ": precompiled_charsmap's replacement strings are not valid UTF-8");
}

std::optional<std::string_view> PrecompiledCharsmap::transform(std::string_view chunk) const {
  // common_prefix_search, stopping at the first result (the crate takes results[0]). A position
  // outside the array ends the search (the Rust crate would panic on such a file).
  size_t node = 0;
  uint32_t unit = trie_[node];
  node ^= offset_of(unit);
  for (const char ch : chunk) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == 0) break;
    node ^= c;
    if (node >= trie_.size()) return std::nullopt;
    unit = trie_[node];
    if (label_of(unit) != c) return std::nullopt;
    node ^= offset_of(unit);
    if (has_leaf(unit)) {
      if (node >= trie_.size()) return std::nullopt;
      const size_t index = value_of(trie_[node]);
      if (index > normalized_.size()) return std::nullopt;
      size_t end = index;
      while (end < normalized_.size() && normalized_[end] != 0) ++end;
      if (index < normalized_.size() && (static_cast<unsigned char>(normalized_[index]) & 0xC0) == 0x80) return std::nullopt;
      return std::string_view(normalized_).substr(index, end - index);
    }
  }
  return std::nullopt;
}

void PrecompiledCharsmap::normalize(NormalizedString& s) const {
  const std::string& text = s.get();
  thread_local std::vector<size_t> ends;
  unicode::grapheme_ends(text, ends);
  std::vector<CharChange>& t = NormalizedString::scratch_changes();
  bool modified = false;
  size_t start = 0;
  for (const size_t end : ends) {
    const std::string_view grapheme(text.data() + start, end - start);
    bool done = false;
    if (grapheme.size() < 6) {
      if (auto norm = transform(grapheme)) {
        modified = true;
        replace(t, grapheme, *norm);
        done = true;
      }
    }
    if (!done) {
      for (size_t i = start; i < end;) {
        size_t n = 0;
        const char32_t c = utf8_decode_at(text, i, &n);
        const std::string_view part(text.data() + i, n);
        if (auto norm = transform(part)) {
          modified = true;
          replace(t, part, *norm);
        } else {
          t.push_back({c, 0});
        }
        i += n;
      }
    }
    start = end;
  }
  if (modified) s.transform(t, 0);
}

}  // namespace bert
