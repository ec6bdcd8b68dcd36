#include "engine/text/added_vocabulary.h"

#include <algorithm>
#include <tuple>

#include "engine/text/unicode.h"

namespace bert {

namespace {

char32_t first_char(std::string_view s) {
  size_t n = 0;
  return utf8_decode_at(std::string(s.substr(0, 4)), 0, &n);
}

char32_t last_char(std::string_view s) {
  size_t i = s.size();
  do --i;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80);
  size_t n = 0;
  return utf8_decode_at(std::string(s.substr(i)), 0, &n);
}

// Rust `\w$` on text[..end] / `^\w` on text[begin..] (the regex crate's Unicode \w).
bool ends_with_word(std::string_view s) { return !s.empty() && unicode::is_regex_word(last_char(s)); }
bool starts_with_word(std::string_view s) { return !s.empty() && unicode::is_regex_word(first_char(s)); }

// `\s*$` on text[..end]: where its trailing whitespace starts.
size_t space_leftmost_at_end(std::string_view s) {
  size_t i = s.size();
  while (i > 0) {
    size_t b = i;
    do --b;
    while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80);
    size_t n = 0;
    if (!unicode::is_regex_space(utf8_decode_at(std::string(s.substr(b, i - b)), 0, &n))) break;
    i = b;
  }
  return i;
}

// `^\s*` on text[begin..]: where its leading whitespace ends.
size_t space_rightmost_at_start(std::string_view s) {
  size_t i = 0;
  const std::string str(s);
  while (i < str.size()) {
    size_t n = 0;
    if (!unicode::is_regex_space(utf8_decode_at(str, i, &n))) break;
    i += n;
  }
  return i;
}

}  // namespace

void AddedVocabulary::Trie::insert(const std::string& pattern, int32_t id) {
  uint32_t node = 0;
  for (const char ch : pattern) {
    const auto b = static_cast<unsigned char>(ch);
    auto it = nodes[node].next.find(b);
    if (it == nodes[node].next.end()) {
      const auto child = static_cast<uint32_t>(nodes.size());
      nodes[node].next.emplace(b, child);
      nodes.emplace_back();
      node = child;
    } else {
      node = it->second;
    }
  }
  nodes[node].id = id;
  if (!pattern.empty()) first_byte[static_cast<unsigned char>(pattern[0])] = true;
}

void AddedVocabulary::add(const std::vector<AddedTokenSpec>& tokens, const Model& model, const Normalizer* normalizer) {
  const size_t model_size = model.vocab_size();
  for (const AddedTokenSpec& token : tokens) {
    if (token.content.empty()) continue;
    // next_id: after the largest added id when that is beyond the model, else the model's size.
    size_t next_id = model_size;
    if (!by_id_.empty()) {
      int32_t max = -1;
      for (const auto& [id, t] : by_id_) max = std::max(max, id);
      if (static_cast<size_t>(max) >= model_size || model_size == 0) next_id = static_cast<size_t>(max) + 1;
    }
    int32_t id = token_to_id(token.content);
    if (id < 0) id = model.token_to_id(token.content);
    if (id < 0) id = static_cast<int32_t>(next_id);
    if (token.normalized && normalizer != nullptr) {
      NormalizedString s;
      s.assign(token.content);
      normalizer->normalize(s);
      if (s.get() != token.content)
        normalized_form_[id] = s.get();
      else
        normalized_form_.erase(id);
    }
    by_content_[token.content] = id;
    if (token.special) special_.insert(token.content);
    by_id_[id] = token;
    id_space_ = std::max(id_space_, static_cast<size_t>(id) + 1);
  }
  rebuild();
}

void AddedVocabulary::rebuild() {
  raw_ = Trie();
  normalized_ = Trie();
  for (const auto& [id, t] : by_id_) {
    if (t.normalized) {
      const auto it = normalized_form_.find(id);
      normalized_.insert(it != normalized_form_.end() ? it->second : t.content, id);
    } else {
      raw_.insert(t.content, id);
    }
  }
}

int32_t AddedVocabulary::token_to_id(std::string_view content) const {
  const auto it = by_content_.find(std::string(content));
  return it == by_content_.end() ? -1 : it->second;
}

const std::string* AddedVocabulary::id_to_token(int32_t id) const {
  const auto n = normalized_form_.find(id);
  if (n != normalized_form_.end()) return &n->second;
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second.content;
}

bool AddedVocabulary::is_special_content(std::string_view content) const { return special_.count(std::string(content)) > 0; }

bool AddedVocabulary::is_special_id(int32_t id) const {
  const auto it = by_id_.find(id);
  return it != by_id_.end() && it->second.special;
}

const AddedTokenSpec* AddedVocabulary::spec_of(int32_t id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second;
}

std::vector<std::pair<int32_t, const AddedTokenSpec*>> AddedVocabulary::tokens() const {
  std::vector<std::pair<int32_t, const AddedTokenSpec*>> out;
  for (const auto& [id, t] : by_id_) out.emplace_back(id, &t);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

bool AddedVocabulary::raw_only() const {
  for (const auto& [id, t] : by_id_)
    if (t.normalized || t.single_word) return false;
  return true;
}

void AddedVocabulary::split_with(const Trie& trie, NormalizedString& s, std::vector<Split>& out, bool trim_counts) const {
  const std::string& text = s.get();
  // find_matches: leftmost-longest matches first (as the Aho-Corasick automaton yields them), then
  // single_word / lstrip / rstrip on each, exactly in Rust's order.
  struct Found {
    int32_t id;  // -1: plain text
    size_t begin, end;
  };
  thread_local std::vector<Found> splits;
  splits.clear();
  if (text.empty()) {
    splits.push_back({-1, 0, 0});
  } else if (trie.empty()) {
    splits.push_back({-1, 0, text.size()});
  } else {
    size_t start_offset = 0;
    size_t pos = 0;
    while (pos < text.size()) {
      const auto b0 = static_cast<unsigned char>(text[pos]);
      int32_t id = -1;
      size_t len = 0;
      if (trie.first_byte[b0]) {
        uint32_t node = 0;
        for (size_t k = pos; k < text.size(); ++k) {
          const auto it = trie.nodes[node].next.find(static_cast<unsigned char>(text[k]));
          if (it == trie.nodes[node].next.end()) break;
          node = it->second;
          if (trie.nodes[node].id >= 0) {
            id = trie.nodes[node].id;
            len = k + 1 - pos;
          }
        }
      }
      if (id < 0) {
        ++pos;
        continue;
      }
      size_t start = pos, stop = pos + len;
      pos = stop;  // the automaton goes on after the match, whatever is decided about it below
      const AddedTokenSpec& t = by_id_.at(id);
      if (t.single_word) {
        const bool start_space = start == 0 || !ends_with_word(std::string_view(text).substr(0, start));
        const bool stop_space = stop == text.size() || !starts_with_word(std::string_view(text).substr(stop));
        if (!stop_space || !start_space) continue;
      }
      if (t.lstrip) start = std::max(space_leftmost_at_end(std::string_view(text).substr(0, start)), start_offset);
      if (t.rstrip) stop += space_rightmost_at_start(std::string_view(text).substr(stop));
      if (start_offset < start) splits.push_back({-1, start_offset, start});
      splits.push_back({id, start, stop});
      start_offset = stop;
    }
    if (start_offset != text.size()) splits.push_back({-1, start_offset, text.size()});
  }
  for (const Found& f : splits) {
    out.emplace_back();
    Split& split = out.back();
    split.tokens.clear();
    split.tokenized = false;
    if (!s.slice(f.begin, f.end, split.normalized)) {
      out.pop_back();
      continue;
    }
    if (f.id >= 0) {
      split.tokenized = true;
      Token tok{f.id, 0, static_cast<uint32_t>(split.normalized.size())};
      if (trim_counts) std::tie(tok.lead, tok.trail) = trim_counts_of(split.normalized.get());
      split.tokens.push_back(tok);
    }
  }
}

void AddedVocabulary::extract_and_normalize(const Normalizer* normalizer, std::string_view text, PreTokenizedString& out,
                                            bool trim_counts) const {
  out.assign(text);
  out.split([&](NormalizedString& s, std::vector<Split>& parts) { split_with(raw_, s, parts, trim_counts); });
  out.split([&](NormalizedString& s, std::vector<Split>& parts) {
    if (normalizer != nullptr) normalizer->normalize(s);
    split_with(normalized_, s, parts, trim_counts);
  });
}

}  // namespace bert
