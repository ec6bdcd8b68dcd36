// NormalizedString: a piece of the input text as normalization changed it, with the alignment that
// maps every byte of the normalized text back to a range of the original. A port of Hugging Face's
// `tokenizers::NormalizedString`, whose arithmetic decides every offset `tokenizers` reports: a
// token's offsets are the original range of its first byte's start to its last byte's end, so this
// class follows the Rust code step by step (transform_range's `change` protocol, slicing, the
// original->normalized conversion) rather than an equivalent of its own.
//
// Offsets here are UTF-8 byte indices: into this string's `original`, which is a slice of the whole
// input starting at `original_shift()` bytes. Conversion to characters / UTF-16 happens once, at the
// end of encoding (pipeline.cc).
//
// Threading: a value type; no shared state.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bert {

struct Alignment {
  uint32_t start, end;
};

// One character of a transformation (Rust `(char, isize)`): change 0 replaces the next original
// character, 1 is inserted (and shares the alignment of the byte before), -N replaces the next
// character and removes the N after it.
struct CharChange {
  char32_t c;
  int32_t change;
};

class NormalizedString {
 public:
  // The whole text, unchanged (Rust `From<&str>`).
  void assign(std::string_view original);

  const std::string& get() const { return normalized_; }
  bool empty() const { return normalized_.empty(); }
  size_t size() const { return normalized_.size(); }
  const std::vector<Alignment>& alignments() const { return alignments_; }
  uint32_t original_shift() const { return shift_; }
  uint32_t original_len() const { return original_len_; }

  // Rust `transform(dest, initial_offset)`: rewrites the range the whole original maps to.
  void transform(const std::vector<CharChange>& dest, size_t initial_offset);
  // Rust `transform_range(Range::Normalized(begin..end), dest, initial_offset)`.
  void transform_range(size_t begin, size_t end, const std::vector<CharChange>& dest, size_t initial_offset);

  // Rust `convert_offsets(Range::Normalized(begin..end))`: the original range (relative to this
  // string's original) of a normalized byte range; false where Rust returns None. An empty range is
  // returned unchanged, as Rust does.
  bool normalized_to_original(size_t begin, size_t end, size_t* obegin, size_t* oend) const;

  // Rust `slice(Range::Normalized(begin..end))` into `out`; false where Rust returns None.
  bool slice(size_t begin, size_t end, NormalizedString& out) const;

  // The normalizer primitives of the Rust type, with its exact alignment results.
  void prepend(std::string_view s);
  void lowercase();
  // lrstrip: leading / trailing Rust-whitespace removed.
  void strip(bool left, bool right);
  // Replaces each [begin, end) of `matches` (sorted, disjoint) with `content` (Rust `replace`).
  struct Range {
    size_t begin, end;
  };
  void replace(const std::vector<Range>& matches, std::string_view content);

  // Scratch for callers that build a transformation (reused across calls on one thread).
  static std::vector<CharChange>& scratch_changes();

 private:
  std::string normalized_;
  std::vector<Alignment> alignments_;  // one per byte of normalized_
  uint32_t shift_ = 0;
  uint32_t original_len_ = 0;
};

// UTF-8 helpers over valid text (the pipeline only ever holds valid UTF-8).
inline size_t utf8_len_of_lead(unsigned char c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }
inline size_t utf8_len_of(char32_t c) { return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4; }
inline char32_t utf8_decode_at(const std::string& s, size_t i, size_t* len) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + i;
  const unsigned char c = p[0];
  if (c < 0x80) {
    *len = 1;
    return c;
  }
  if (c < 0xE0) {
    *len = 2;
    return (char32_t(c & 0x1F) << 6) | (p[1] & 0x3F);
  }
  if (c < 0xF0) {
    *len = 3;
    return (char32_t(c & 0x0F) << 12) | (char32_t(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
  }
  *len = 4;
  return (char32_t(c & 0x07) << 18) | (char32_t(p[1] & 0x3F) << 12) | (char32_t(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
}
inline size_t utf8_encode(char32_t cp, char* out) {
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<char>(0xC0 | (cp >> 6));
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<char>(0xE0 | (cp >> 12));
    out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | (cp >> 18));
  out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  out[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

}  // namespace bert
