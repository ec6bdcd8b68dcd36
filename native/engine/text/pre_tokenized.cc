#include "engine/text/pre_tokenized.h"

#include <algorithm>

#include "engine/text/unicode.h"

namespace bert {

std::pair<uint32_t, uint32_t> trim_counts_of(std::string_view token) {
  const std::string t(token);
  thread_local std::vector<char32_t> chars;
  chars.clear();
  for (size_t i = 0; i < t.size();) {
    size_t n = 0;
    chars.push_back(utf8_decode_at(t, i, &n));
    i += n;
  }
  auto space = [](char32_t c) { return c == 0x120 || unicode::is_rust_whitespace(c); };
  uint32_t lead = 0, trail = 0;
  while (lead < chars.size() && space(chars[lead])) ++lead;
  while (trail < chars.size() && space(chars[chars.size() - 1 - trail])) ++trail;
  return {lead, trail};
}

void match_chars(const std::string& s, const std::function<bool(char32_t)>& pred, std::vector<Piece>& out) {
  out.clear();
  if (s.empty()) {
    out.push_back({0, 0, false});
    return;
  }
  size_t last_offset = 0, last_seen = 0;
  for (size_t b = 0; b < s.size();) {
    size_t n = 0;
    const char32_t c = utf8_decode_at(s, b, &n);
    last_seen = b + n;
    if (pred(c)) {
      if (last_offset < b) out.push_back({last_offset, b, false});
      out.push_back({b, b + n, true});
      last_offset = b + n;
    }
    b += n;
  }
  if (last_seen > last_offset) out.push_back({last_offset, last_seen, false});
}

void pieces_from_matches(size_t len, const std::vector<std::pair<size_t, size_t>>& matches, std::vector<Piece>& out) {
  out.clear();
  if (len == 0) {
    out.push_back({0, 0, false});
    return;
  }
  size_t prev = 0;
  for (const auto& [start, end] : matches) {
    if (prev != start) out.push_back({prev, start, false});
    out.push_back({start, end, true});
    prev = end;
  }
  if (prev != len) out.push_back({prev, len, false});
}

void split_normalized(const NormalizedString& s, const std::vector<Piece>& pieces, SplitBehavior behavior, std::vector<Split>& out) {
  struct Cut {
    size_t begin, end;
    bool remove;
  };
  thread_local std::vector<Cut> cuts;
  cuts.clear();
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const Piece& p : pieces) cuts.push_back({p.begin, p.end, false});
      break;
    case SplitBehavior::kRemoved:
      for (const Piece& p : pieces) cuts.push_back({p.begin, p.end, p.is_match});
      break;
    case SplitBehavior::kContiguous: {
      bool previous = false;
      for (const Piece& p : pieces) {
        if (p.is_match == previous && !cuts.empty())
          cuts.back().end = p.end;
        else
          cuts.push_back({p.begin, p.end, false});
        previous = p.is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithPrevious: {
      bool previous = false;
      for (const Piece& p : pieces) {
        if (p.is_match && !previous && !cuts.empty())
          cuts.back().end = p.end;
        else
          cuts.push_back({p.begin, p.end, false});
        previous = p.is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool previous = false;
      for (size_t i = pieces.size(); i-- > 0;) {
        const Piece& p = pieces[i];
        if (p.is_match && !previous && !cuts.empty())
          cuts.back().begin = p.begin;
        else
          cuts.push_back({p.begin, p.end, false});
        previous = p.is_match;
      }
      std::reverse(cuts.begin(), cuts.end());
      break;
    }
  }
  for (const Cut& c : cuts) {
    if (c.remove) continue;
    out.emplace_back();
    Split& split = out.back();
    split.tokenized = false;
    split.tokens.clear();
    if (!s.slice(c.begin, c.end, split.normalized)) out.pop_back();  // Rust panics ("bad split"); not on char boundaries
  }
}

void PreTokenizedString::assign(std::string_view text) {
  splits_.resize(1);
  splits_[0].normalized.assign(text);
  splits_[0].tokenized = false;
  splits_[0].tokens.clear();
}

void PreTokenizedString::split(const std::function<void(NormalizedString&, std::vector<Split>&)>& fn) {
  next_.clear();
  for (Split& s : splits_) {
    if (s.tokenized) {
      next_.push_back(std::move(s));
      continue;
    }
    const size_t first = next_.size();
    fn(s.normalized, next_);
    // Drop the empty ones (Rust filters `split.normalized.is_empty()`).
    size_t keep = first;
    for (size_t i = first; i < next_.size(); ++i) {
      if (next_[i].normalized.empty()) continue;
      if (keep != i) next_[keep] = std::move(next_[i]);
      ++keep;
    }
    next_.resize(keep);
  }
  splits_.swap(next_);
}

void PreTokenizedString::normalize(const std::function<void(NormalizedString&)>& fn) {
  for (Split& s : splits_)
    if (!s.tokenized) fn(s.normalized);
}

}  // namespace bert
