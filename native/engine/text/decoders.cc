#include "engine/text/decoders.h"

#include "engine/text/byte_level.h"
#include "engine/text/normalized_string.h"

namespace bert {

namespace {

// Rust str::replace: every non-overlapping `from`, left to right; an empty `from` matches between
// every character and at both ends.
std::string rust_replace(const std::string& s, const std::string& from, const std::string& to) {
  std::string out;
  if (from.empty()) {
    out += to;
    for (size_t i = 0; i < s.size();) {
      const size_t n = utf8_len_of_lead(static_cast<unsigned char>(s[i]));
      out.append(s, i, n);
      out += to;
      i += n;
    }
    return out;
  }
  size_t done = 0;
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, done)) {
    out.append(s, done, at - done);
    out += to;
    done = at + from.size();
  }
  out.append(s, done, std::string::npos);
  return out;
}

std::vector<char32_t> chars_of(const std::string& s) {
  std::vector<char32_t> out;
  for (size_t i = 0; i < s.size();) {
    size_t n = 0;
    out.push_back(utf8_decode_at(s, i, &n));
    i += n;
  }
  return out;
}

std::string string_of(const std::vector<char32_t>& cps, size_t begin, size_t end) {
  std::string out;
  char buf[4];
  for (size_t i = begin; i < end; ++i) out.append(buf, utf8_encode(cps[i], buf));
  return out;
}

class WordPieceDecoder : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup) : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      if (i != 0) {
        if (t.compare(0, prefix_.size(), prefix_) == 0)
          t.erase(0, prefix_.size());
        else
          t.insert(0, " ");
      }
      if (cleanup_) t = wordpiece_cleanup(std::move(t));
    }
  }
  std::string describe() const override { return "WordPiece"; }

 private:
  std::string prefix_;
  bool cleanup_;
};

class ByteLevelDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string s = byte_level::decode_tokens(tokens);
    tokens.assign(1, std::move(s));
  }
  std::string describe() const override { return "ByteLevel"; }
};

class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, PrependScheme scheme) : scheme_(scheme) {
    size_t n = 0;
    replacement_ = utf8_decode_at(replacement, 0, &n);
  }
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string out;
      char buf[4];
      const std::string& t = tokens[i];
      for (size_t k = 0; k < t.size();) {
        size_t n = 0;
        const char32_t c = utf8_decode_at(t, k, &n);
        if (c == replacement_) {
          if (!(i == 0 && scheme_ != PrependScheme::kNever)) out.push_back(' ');
        } else {
          out.append(buf, utf8_encode(c, buf));
        }
        k += n;
      }
      tokens[i].swap(out);
    }
  }
  std::string describe() const override { return "Metaspace"; }

 private:
  char32_t replacement_;
  PrependScheme scheme_;
};

class BpeDecoder : public Decoder {
 public:
  explicit BpeDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = rust_replace(tokens[i], suffix_, i + 1 == tokens.size() ? "" : " ");
  }
  std::string describe() const override { return "BPEDecoder"; }

 private:
  std::string suffix_;
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(std::shared_ptr<const Regex> p, std::string c) : pattern_(std::move(p)), content_(std::move(c)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    thread_local std::vector<std::pair<size_t, size_t>> matches;
    for (std::string& t : tokens) {
      if (t.empty()) continue;
      pattern_->find_all(t, matches);
      std::string out;
      size_t prev = 0;
      for (const auto& [b, e] : matches) {
        out.append(t, prev, b - prev);
        out += content_;
        prev = e;
      }
      out.append(t, prev, std::string::npos);
      t.swap(out);
    }
  }
  std::string describe() const override { return "Replace"; }

 private:
  std::shared_ptr<const Regex> pattern_;
  std::string content_;
};

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class ByteFallbackDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string bytes;
    auto flush = [&] {
      if (bytes.empty()) return;
      if (unicode_valid(bytes))
        out.push_back(bytes);
      else
        for (size_t k = 0; k < bytes.size(); ++k) out.emplace_back("\xEF\xBF\xBD");
      bytes.clear();
    };
    for (std::string& t : tokens) {
      int value = -1;
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') {
        // u8::from_str_radix(token[3..5], 16): two hex digits, or '+' and one.
        const int hi = hex_digit(t[3]), lo = hex_digit(t[4]);
        if (hi >= 0 && lo >= 0)
          value = hi * 16 + lo;
        else if (t[3] == '+' && lo >= 0)
          value = lo;
      }
      if (value >= 0) {
        bytes.push_back(static_cast<char>(value));
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens.swap(out);
  }
  std::string describe() const override { return "ByteFallback"; }

 private:
  static bool unicode_valid(const std::string& s) { return byte_level::utf8_lossy(s) == s; }
};

class FuseDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string s;
    for (const std::string& t : tokens) s += t;
    tokens.assign(1, std::move(s));
  }
  std::string describe() const override { return "Fuse"; }
};

class StripDecoder : public Decoder {
 public:
  StripDecoder(char32_t content, size_t start, size_t stop) : content_(content), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) {
      const std::vector<char32_t> chars = chars_of(t);
      size_t start_cut = 0;
      for (size_t i = 0; i < start_ && i < chars.size(); ++i) {
        if (chars[i] != content_) break;
        start_cut = i + 1;
      }
      size_t stop_cut = chars.size();
      for (size_t i = 0; i < stop_ && i < chars.size(); ++i) {
        const size_t index = chars.size() - i - 1;
        if (chars[index] != content_) break;
        stop_cut = index;
      }
      // (Rust panics when the two cuts cross; such a token decodes to nothing here.)
      t = start_cut <= stop_cut ? string_of(chars, start_cut, stop_cut) : std::string();
    }
  }
  std::string describe() const override { return "Strip"; }

 private:
  char32_t content_;
  size_t start_, stop_;
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<DecoderPtr> items) : items_(std::move(items)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& d : items_) d->decode_chain(tokens);
  }
  std::string describe() const override {
    std::string d = "Sequence[";
    for (size_t i = 0; i < items_.size(); ++i) d += (i ? ", " : "") + items_[i]->describe();
    return d + "]";
  }

 private:
  std::vector<DecoderPtr> items_;
};

}  // namespace

std::string wordpiece_cleanup(std::string s) {
  static const std::pair<const char*, const char*> kCleanups[] = {{" .", "."},   {" ?", "?"},     {" !", "!"},    {" ,", ","},
                                                                  {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"},  {" do not", " don't"},
                                                                  {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  if (s.find(' ') == std::string::npos) return s;  // every pattern starts with a space
  for (const auto& [from, to] : kCleanups) s = rust_replace(s, from, to);
  return s;
}

std::string decode_tokens(const Decoder* decoder, std::vector<std::string> tokens) {
  std::string out;
  if (decoder == nullptr) {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i) out.push_back(' ');
      out += tokens[i];
    }
    return out;
  }
  decoder->decode_chain(tokens);
  for (const std::string& t : tokens) out += t;
  return out;
}

DecoderPtr make_wordpiece_decoder(std::string prefix, bool cleanup) {
  return std::make_shared<WordPieceDecoder>(std::move(prefix), cleanup);
}
DecoderPtr make_byte_level_decoder() { return std::make_shared<ByteLevelDecoder>(); }
DecoderPtr make_metaspace_decoder(std::string replacement, PrependScheme scheme) {
  return std::make_shared<MetaspaceDecoder>(std::move(replacement), scheme);
}
DecoderPtr make_bpe_decoder(std::string suffix) { return std::make_shared<BpeDecoder>(std::move(suffix)); }
DecoderPtr make_replace_decoder(std::shared_ptr<const Regex> p, std::string c) {
  return std::make_shared<ReplaceDecoder>(std::move(p), std::move(c));
}
DecoderPtr make_byte_fallback_decoder() { return std::make_shared<ByteFallbackDecoder>(); }
DecoderPtr make_fuse_decoder() { return std::make_shared<FuseDecoder>(); }
DecoderPtr make_strip_decoder(char32_t content, size_t start, size_t stop) { return std::make_shared<StripDecoder>(content, start, stop); }
DecoderPtr make_sequence_decoder(std::vector<DecoderPtr> items) { return std::make_shared<SequenceDecoder>(std::move(items)); }

}  // namespace bert
