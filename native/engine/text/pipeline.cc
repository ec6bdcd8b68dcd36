#include "engine/text/pipeline.h"

#include <algorithm>

namespace bert {

void RawSequence::keep(size_t n, bool from_end) {
  if (n >= ids.size()) return;
  const size_t drop = ids.size() - n;
  if (from_end) {
    ids.erase(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(drop));
    offsets.erase(offsets.begin(), offsets.begin() + static_cast<std::ptrdiff_t>(drop));
    if (!trims.empty()) trims.erase(trims.begin(), trims.begin() + static_cast<std::ptrdiff_t>(drop));
  } else {
    ids.resize(n);
    offsets.resize(n);
    if (!trims.empty()) trims.resize(n);
  }
}

void RawSequence::limit_pieces(size_t limit, bool from_end) {
  if (limit == 0 || splits.size() != ids.size()) return;
  const size_t n = ids.size();
  // Piece boundaries: token i starts a piece when splits[i] != 0.
  size_t total = 0;
  if (!from_end) {
    for (size_t i = 0; i < n;) {
      size_t j = i + 1;
      while (j < n && splits[j] == 0) ++j;
      total += j - i;
      if (splits[i] == 1 && total >= limit) {
        stopped_early = j < n;
        keep(j, false);
        return;
      }
      i = j;
    }
  } else {
    for (size_t j = n; j > 0;) {
      size_t i = j - 1;
      while (i > 0 && splits[i] == 0) --i;
      total += j - i;
      if (splits[i] == 1 && total >= limit) {
        stopped_early = i > 0;
        keep(n - i, true);
        return;
      }
      j = i;
    }
  }
}

Pipeline::Pipeline(PipelineParts parts) : parts_(std::move(parts)) {
  if (parts_.post_processor) parts_.post_processor->trim_passes(trim_passes_);
}

void Pipeline::encode(std::string_view text, size_t limit, bool from_end, RawSequence& out) const {
  out.clear();
  const bool trim = trims();
  thread_local PreTokenizedString pts;
  parts_.added.extract_and_normalize(parts_.normalizer.get(), text, pts, trim);
  if (parts_.pre_tokenizer) parts_.pre_tokenizer->pre_tokenize(pts);

  std::vector<Split>& splits = pts.splits();
  auto tokenize = [&](Split& s) {
    if (s.tokenized) return;
    s.tokens.clear();
    parts_.model->tokenize(s.normalized.get(), s.tokens, trim);
    s.tokenized = true;
  };
  size_t first = 0, last = splits.size();
  if (limit == 0) {
    for (Split& s : splits) tokenize(s);
  } else if (!from_end) {
    size_t total = 0;
    last = 0;
    for (size_t i = 0; i < splits.size(); ++i) {
      const bool had = splits[i].tokenized;
      tokenize(splits[i]);
      total += splits[i].tokens.size();
      last = i + 1;
      if (!had && total >= limit) break;
    }
  } else {
    size_t total = 0;
    first = splits.size();
    for (size_t i = splits.size(); i-- > 0;) {
      const bool had = splits[i].tokenized;
      tokenize(splits[i]);
      total += splits[i].tokens.size();
      first = i;
      if (!had && total >= limit) break;
    }
  }
  // What was left untokenized would have given tokens: a non-empty piece always gives one (the
  // unknown token where nothing else fits; without one, encode fails), and added tokens are tokens.
  auto has_tokens = [](const Split& s) { return s.tokenized ? !s.tokens.empty() : !s.normalized.empty(); };
  out.stopped_early = std::any_of(splits.begin(), splits.begin() + static_cast<std::ptrdiff_t>(first), has_tokens) ||
                      std::any_of(splits.begin() + static_cast<std::ptrdiff_t>(last), splits.end(), has_tokens);

  // into_encoding: each token's range back to the original text's bytes.
  const bool ascii = std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  thread_local std::vector<uint32_t> char_of_byte;
  size_t chars = text.size();
  if (!ascii) {
    char_of_byte.resize(text.size());
    out.utf16_of_char.clear();
    out.utf16_of_char.push_back(0);
    uint32_t c = 0, u = 0;
    for (size_t i = 0; i < text.size();) {
      const size_t n = utf8_len_of_lead(static_cast<unsigned char>(text[i]));
      for (size_t k = 0; k < n && i + k < text.size(); ++k) char_of_byte[i + k] = c;
      u += n == 4 ? 2 : 1;
      out.utf16_of_char.push_back(u);
      ++c;
      i += n;
    }
    chars = c;
  }
  // Rust BytesToCharOffsetConverter::convert; None leaves the byte offsets as they are.
  auto to_chars = [&](size_t s, size_t e) -> std::pair<uint32_t, uint32_t> {
    if (ascii) return {static_cast<uint32_t>(s), static_cast<uint32_t>(e)};
    if (s >= text.size()) return {static_cast<uint32_t>(s), static_cast<uint32_t>(e)};
    const uint32_t cs = char_of_byte[s];
    if (e < text.size()) return {cs, char_of_byte[e]};
    const uint32_t last_char = e >= 1 && e - 1 < text.size() ? char_of_byte[e - 1] : cs + 1;
    return {cs, last_char + 1};
  };
  (void)chars;
  for (size_t i = first; i < last; ++i) {
    const Split& s = splits[i];
    const NormalizedString& ns = s.normalized;
    for (const Token& t : s.tokens) {
      size_t ob = 0, oe = 0;
      size_t bs, be;
      if (ns.normalized_to_original(t.start, t.end, &ob, &oe)) {
        bs = ns.original_shift() + ob;
        be = ns.original_shift() + oe;
      } else {
        bs = t.start;
        be = t.end;
      }
      out.ids.push_back(t.id);
      out.offsets.push_back(to_chars(bs, be));
      if (trim) out.trims.emplace_back(t.lead, t.trail);
    }
  }
}

void Pipeline::finish(RawSequence& raw, SequenceTokens& out) const {
  // process_offsets, once per trimming pass, on the (truncated) text's tokens, in characters.
  for (const bool add_prefix_space : trim_passes_) {
    for (size_t i = 0; i < raw.offsets.size() && i < raw.trims.size(); ++i) {
      auto& [start, end] = raw.offsets[i];
      uint32_t lead = raw.trims[i].first;
      const uint32_t trail = raw.trims[i].second;
      if (lead == 0 && trail == 0) continue;
      if (lead > 0) {
        const bool is_first = i == 0 || start == 0;
        if (is_first && add_prefix_space && lead == 1) lead = 0;
        start = std::min(start + lead, end);
      }
      if (trail > 0 && end >= trail) end = std::max(end - trail, start);
    }
  }
  out.ids.swap(raw.ids);
  out.offsets.swap(raw.offsets);
  if (!raw.utf16_of_char.empty()) {
    const auto& map = raw.utf16_of_char;
    const uint32_t chars = static_cast<uint32_t>(map.size() - 1);
    auto u16 = [&](uint32_t c) { return c <= chars ? map[c] : map[chars] + (c - chars); };
    for (auto& [s, e] : out.offsets) {
      s = u16(s);
      e = u16(e);
    }
  }
}

}  // namespace bert
