#include "engine/text/normalized_string.h"

#include "engine/text/unicode.h"

namespace bert {

namespace {

// The bytes and alignments a transformation builds before they are spliced in; per thread, so a warm
// thread allocates nothing here.
struct TransformScratch {
  std::string text;
  std::vector<Alignment> align;
};
thread_local TransformScratch t_scratch;

bool is_char_boundary(const std::string& s, size_t i) {
  if (i == 0 || i == s.size()) return true;
  if (i > s.size()) return false;
  return (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80;
}

}  // namespace

std::vector<CharChange>& NormalizedString::scratch_changes() {
  thread_local std::vector<CharChange> changes;
  changes.clear();
  return changes;
}

void NormalizedString::assign(std::string_view original) {
  normalized_.assign(original.data(), original.size());
  alignments_.resize(original.size());
  const auto* p = reinterpret_cast<const unsigned char*>(original.data());
  for (size_t i = 0; i < original.size();) {
    const size_t n = utf8_len_of_lead(p[i]);
    const Alignment a{static_cast<uint32_t>(i), static_cast<uint32_t>(i + n)};
    for (size_t k = 0; k < n && i + k < original.size(); ++k) alignments_[i + k] = a;
    i += n;
  }
  shift_ = 0;
  original_len_ = static_cast<uint32_t>(original.size());
}

void NormalizedString::transform(const std::vector<CharChange>& dest, size_t initial_offset) {
  // convert_offsets(Range::Original(..)): the normalized range the whole original covers.
  const size_t target_end = original_len_;
  if (target_end == 0) {  // an empty target range is returned as is: 0..0
    transform_range(0, 0, dest, initial_offset);
    return;
  }
  bool has_start = false, has_end = false;
  size_t start = 0, end = 0;
  for (size_t i = 0; i < alignments_.size(); ++i) {
    const Alignment& a = alignments_[i];
    if (!(target_end >= a.end)) break;
    if (!has_start && a.start != a.end) {  // target.start (0) <= a.start always holds
      has_start = true;
      start = i;
    }
    has_end = true;
    end = i + 1;
  }
  if (has_start && has_end)
    transform_range(start, end, dest, initial_offset);
  else if (has_end)
    transform_range(end, end, dest, initial_offset);
  // (None, None): Rust's transform_range returns without a change.
}

void NormalizedString::transform_range(size_t begin, size_t end, const std::vector<CharChange>& dest, size_t initial_offset) {
  // The characters being replaced are consumed from `cursor` as the changes say.
  size_t cursor = begin;
  for (size_t k = 0; k < initial_offset && cursor < end; ++k) cursor += utf8_len_of_lead(static_cast<unsigned char>(normalized_[cursor]));
  size_t offset = cursor;  // initial_removed + begin
  std::string& text = t_scratch.text;
  std::vector<Alignment>& align = t_scratch.align;
  text.clear();
  align.clear();
  char buf[4];
  for (const CharChange& ch : dest) {
    const size_t idx = offset;
    Alignment a{0, 0};
    if (ch.change > 0) {
      if (idx >= 1 && idx - 1 < alignments_.size()) a = alignments_[idx - 1];
    } else if (idx < alignments_.size()) {
      a = alignments_[idx];
    }
    size_t replaced = 0;
    if (ch.change <= 0 && cursor < end) {
      replaced = utf8_len_of_lead(static_cast<unsigned char>(normalized_[cursor]));
      cursor += replaced;
    }
    size_t removed = 0;
    for (int32_t k = 0; k < -ch.change && cursor < end; ++k) {
      const size_t n = utf8_len_of_lead(static_cast<unsigned char>(normalized_[cursor]));
      removed += n;
      cursor += n;
    }
    offset += replaced + removed;
    const size_t n = utf8_encode(ch.c, buf);
    text.append(buf, n);
    align.insert(align.end(), n, a);
  }
  if (begin == 0 && end == normalized_.size()) {
    normalized_.swap(text);
    alignments_.swap(align);
  } else {
    normalized_.replace(begin, end - begin, text);
    alignments_.erase(alignments_.begin() + static_cast<std::ptrdiff_t>(begin), alignments_.begin() + static_cast<std::ptrdiff_t>(end));
    alignments_.insert(alignments_.begin() + static_cast<std::ptrdiff_t>(begin), align.begin(), align.end());
  }
}

bool NormalizedString::normalized_to_original(size_t begin, size_t end, size_t* obegin, size_t* oend) const {
  if (begin == end) {
    *obegin = begin;
    *oend = end;
    return true;
  }
  if (begin > end || end > alignments_.size()) return false;
  *obegin = alignments_[begin].start;
  *oend = alignments_[end - 1].end;
  return true;
}

bool NormalizedString::slice(size_t begin, size_t end, NormalizedString& out) const {
  if (!is_char_boundary(normalized_, begin) || !is_char_boundary(normalized_, end)) return false;
  size_t ob = 0, oe = 0;
  if (!normalized_to_original(begin, end, &ob, &oe)) return false;
  if (end > alignments_.size()) return false;
  const uint32_t n_shift = static_cast<uint32_t>(ob);
  // Rust reads the original substring (empty when the range is not inside it); only its length is kept.
  out.original_len_ = ob <= oe && oe <= original_len_ ? static_cast<uint32_t>(oe - ob) : 0;
  out.normalized_.assign(normalized_, begin, end - begin);
  out.alignments_.resize(end - begin);
  for (size_t i = begin; i < end; ++i) out.alignments_[i - begin] = Alignment{alignments_[i].start - n_shift, alignments_[i].end - n_shift};
  out.shift_ = shift_ + n_shift;
  return true;
}

void NormalizedString::prepend(std::string_view s) {
  if (normalized_.empty()) return;
  size_t next_len = 0;
  const char32_t next = utf8_decode_at(normalized_, 0, &next_len);
  std::vector<CharChange>& changes = scratch_changes();
  const std::string str(s);
  size_t i = 0;
  for (size_t k = 0; k < str.size();) {
    size_t n = 0;
    const char32_t c = utf8_decode_at(str, k, &n);
    changes.push_back({c, i == 0 ? 0 : 1});
    k += n;
    ++i;
  }
  changes.push_back({next, 1});
  transform_range(0, next_len, changes, 0);
}

void NormalizedString::lowercase() {
  std::vector<CharChange>& changes = scratch_changes();
  for (size_t i = 0; i < normalized_.size();) {
    size_t n = 0;
    const char32_t c = utf8_decode_at(normalized_, i, &n);
    char32_t lower[2];
    const size_t nl = unicode::to_lowercase(c, lower);
    for (size_t k = 0; k < nl; ++k) changes.push_back({lower[k], k > 0 ? 1 : 0});
    i += n;
  }
  transform(changes, 0);
}

void NormalizedString::strip(bool left, bool right) {
  std::vector<char32_t> chars;
  for (size_t i = 0; i < normalized_.size();) {
    size_t n = 0;
    chars.push_back(utf8_decode_at(normalized_, i, &n));
    i += n;
  }
  size_t leading = 0, trailing = 0;
  if (left)
    while (leading < chars.size() && unicode::is_rust_whitespace(chars[leading])) ++leading;
  if (right)
    while (trailing < chars.size() && unicode::is_rust_whitespace(chars[chars.size() - 1 - trailing])) ++trailing;
  if (leading == 0 && trailing == 0) return;
  std::vector<CharChange>& changes = scratch_changes();
  const size_t count = chars.size();
  // Rust compares the character index with the BYTE length here; the removal it attaches is only
  // ever on the last kept character of an ASCII string, where it changes nothing.
  const long long marked = static_cast<long long>(normalized_.size()) - static_cast<long long>(trailing) - 1;
  for (size_t i = 0; i < count; ++i) {
    if (i < leading || i >= count - trailing) continue;
    changes.push_back({chars[i], static_cast<long long>(i) == marked ? -static_cast<int32_t>(trailing) : 0});
  }
  transform(changes, leading);
}

void NormalizedString::replace(const std::vector<Range>& matches, std::string_view content) {
  if (matches.empty()) return;
  std::string text;
  std::vector<Alignment> align;
  text.reserve(normalized_.size() + content.size() * matches.size());
  align.reserve(text.capacity());
  const std::string str(content);
  size_t last_end = 0;
  char buf[4];
  for (const Range& m : matches) {
    text.append(normalized_, last_end, m.begin - last_end);
    align.insert(align.end(), alignments_.begin() + static_cast<std::ptrdiff_t>(last_end),
                 alignments_.begin() + static_cast<std::ptrdiff_t>(m.begin));
    // Every inserted character is "new" (change 1) after the whole match was removed: it takes the
    // alignment of the match's last byte.
    const Alignment a = m.end >= 1 ? alignments_[m.end - 1] : Alignment{0, 0};
    for (size_t k = 0; k < str.size();) {
      size_t n = 0;
      const char32_t c = utf8_decode_at(str, k, &n);
      const size_t w = utf8_encode(c, buf);
      text.append(buf, w);
      align.insert(align.end(), w, a);
      k += n;
    }
    last_end = m.end;
  }
  text.append(normalized_, last_end, std::string::npos);
  align.insert(align.end(), alignments_.begin() + static_cast<std::ptrdiff_t>(last_end), alignments_.end());
  normalized_.swap(text);
  alignments_.swap(align);
}

}  // namespace bert
