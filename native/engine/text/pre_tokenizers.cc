#include "engine/text/pre_tokenizers.h"

#include "engine/text/byte_level.h"
#include "engine/text/normalizers.h"
#include "engine/text/unicode.h"

namespace bert {

namespace {

// Splits every untokenized piece at the characters `pred` selects (a Rust `Fn(char) -> bool` pattern).
void split_chars(PreTokenizedString& p, bool (*pred)(char32_t), SplitBehavior behavior) {
  thread_local std::vector<Piece> pieces;
  p.split([&](NormalizedString& s, std::vector<Split>& out) {
    match_chars(s.get(), pred, pieces);
    split_normalized(s, pieces, behavior, out);
  });
}

bool rust_whitespace(char32_t c) { return unicode::is_rust_whitespace(c); }
bool bert_punct(char32_t c) { return unicode::is_bert_punctuation(c); }
bool numeric(char32_t c) { return unicode::is_numeric(c); }

class BertPre : public PreTokenizer {
 public:
  void pre_tokenize(PreTokenizedString& p) const override {
    split_chars(p, rust_whitespace, SplitBehavior::kRemoved);
    split_chars(p, bert_punct, SplitBehavior::kIsolated);
  }
  std::string describe() const override { return "BertPreTokenizer"; }
};

class ByteLevelPre : public PreTokenizer {
 public:
  ByteLevelPre(bool prefix, bool regex) : add_prefix_space_(prefix), use_regex_(regex) {}
  void pre_tokenize(PreTokenizedString& p) const override {
    thread_local std::vector<std::pair<size_t, size_t>> matches;
    thread_local std::vector<Piece> pieces;
    p.split([&](NormalizedString& s, std::vector<Split>& out) {
      if (add_prefix_space_ && (s.empty() || s.get()[0] != ' ')) s.prepend(" ");
      if (use_regex_) {
        byte_level::gpt2_matches(s.get(), matches);
        pieces_from_matches(s.size(), matches, pieces);
        split_normalized(s, pieces, SplitBehavior::kIsolated, out);
      } else {
        out.emplace_back();
        out.back().normalized = std::move(s);
      }
    });
    p.normalize(byte_level_transform);
  }
  std::string describe() const override { return "ByteLevel"; }

 private:
  bool add_prefix_space_, use_regex_;
};

class Metaspace : public PreTokenizer {
 public:
  Metaspace(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {
    size_t n = 0;
    replacement_char_ = utf8_decode_at(replacement_, 0, &n);
  }
  void pre_tokenize(PreTokenizedString& p) const override {
    thread_local std::vector<NormalizedString::Range> spaces;
    thread_local std::vector<Piece> pieces;
    const char32_t rc = replacement_char_;
    p.split([&](NormalizedString& s, std::vector<Split>& out) {
      spaces.clear();
      const std::string& text = s.get();
      for (size_t i = 0; i < text.size(); ++i)
        if (text[i] == ' ') spaces.push_back({i, i + 1});
      s.replace(spaces, replacement_);
      const bool starts = s.get().compare(0, replacement_.size(), replacement_) == 0;
      if ((scheme_ == PrependScheme::kAlways && !starts) || (scheme_ == PrependScheme::kFirst && !starts && s.original_shift() == 0))
        s.prepend(replacement_);
      if (split_) {
        match_chars(
            s.get(), [rc](char32_t c) { return c == rc; }, pieces);
        split_normalized(s, pieces, SplitBehavior::kMergedWithNext, out);
      } else {
        out.emplace_back();
        out.back().normalized = std::move(s);
      }
    });
  }
  std::string describe() const override { return "Metaspace"; }

 private:
  std::string replacement_;
  char32_t replacement_char_ = 0;
  PrependScheme scheme_;
  bool split_;
};

class Whitespace : public PreTokenizer {
 public:
  void pre_tokenize(PreTokenizedString& p) const override {
    thread_local std::vector<std::pair<size_t, size_t>> matches;
    thread_local std::vector<Piece> pieces;
    p.split([&](NormalizedString& s, std::vector<Split>& out) {
      // \w+|[^\w\s]+ (the Rust regex crate's classes), inverted, the gaps removed.
      matches.clear();
      const std::string& text = s.get();
      enum { kNone, kWord, kOther } run = kNone;
      size_t start = 0;
      for (size_t i = 0; i < text.size();) {
        size_t n = 0;
        const char32_t c = utf8_decode_at(text, i, &n);
        const auto cls = unicode::is_regex_word(c) ? kWord : unicode::is_regex_space(c) ? kNone : kOther;
        if (cls != run) {
          if (run != kNone) matches.emplace_back(start, i);
          start = i;
          run = cls;
        }
        i += n;
      }
      if (run != kNone) matches.emplace_back(start, text.size());
      pieces_from_matches(text.size(), matches, pieces);
      invert(pieces);
      split_normalized(s, pieces, SplitBehavior::kRemoved, out);
    });
  }
  std::string describe() const override { return "Whitespace"; }
};

class WhitespaceSplit : public PreTokenizer {
 public:
  void pre_tokenize(PreTokenizedString& p) const override { split_chars(p, rust_whitespace, SplitBehavior::kRemoved); }
  std::string describe() const override { return "WhitespaceSplit"; }
};

class Punctuation : public PreTokenizer {
 public:
  explicit Punctuation(SplitBehavior b) : behavior_(b) {}
  void pre_tokenize(PreTokenizedString& p) const override { split_chars(p, bert_punct, behavior_); }
  std::string describe() const override { return "Punctuation"; }

 private:
  SplitBehavior behavior_;
};

class SplitPre : public PreTokenizer {
 public:
  SplitPre(std::shared_ptr<const Regex> r, SplitBehavior b, bool inv) : regex_(std::move(r)), behavior_(b), invert_(inv) {}
  void pre_tokenize(PreTokenizedString& p) const override {
    thread_local std::vector<std::pair<size_t, size_t>> matches;
    thread_local std::vector<Piece> pieces;
    p.split([&](NormalizedString& s, std::vector<Split>& out) {
      if (s.empty()) {
        pieces.assign(1, Piece{0, 0, false});
      } else {
        regex_->find_all(s.get(), matches);
        pieces_from_matches(s.size(), matches, pieces);
      }
      if (invert_) invert(pieces);
      split_normalized(s, pieces, behavior_, out);
    });
  }
  std::string describe() const override { return "Split"; }

 private:
  std::shared_ptr<const Regex> regex_;
  SplitBehavior behavior_;
  bool invert_;
};

class Digits : public PreTokenizer {
 public:
  explicit Digits(bool individual) : individual_(individual) {}
  void pre_tokenize(PreTokenizedString& p) const override {
    split_chars(p, numeric, individual_ ? SplitBehavior::kIsolated : SplitBehavior::kContiguous);
  }
  std::string describe() const override { return "Digits"; }

 private:
  bool individual_;
};

class CharDelimiter : public PreTokenizer {
 public:
  explicit CharDelimiter(char32_t d) : delimiter_(d) {}
  void pre_tokenize(PreTokenizedString& p) const override {
    thread_local std::vector<Piece> pieces;
    const char32_t d = delimiter_;
    p.split([&](NormalizedString& s, std::vector<Split>& out) {
      match_chars(
          s.get(), [d](char32_t c) { return c == d; }, pieces);
      split_normalized(s, pieces, SplitBehavior::kRemoved, out);
    });
  }
  std::string describe() const override { return "CharDelimiterSplit"; }

 private:
  char32_t delimiter_;
};

class SequencePre : public PreTokenizer {
 public:
  explicit SequencePre(std::vector<PreTokenizerPtr> items) : items_(std::move(items)) {}
  void pre_tokenize(PreTokenizedString& p) const override {
    for (const auto& t : items_) t->pre_tokenize(p);
  }
  std::string describe() const override {
    std::string d = "Sequence[";
    for (size_t i = 0; i < items_.size(); ++i) d += (i ? ", " : "") + items_[i]->describe();
    return d + "]";
  }

 private:
  std::vector<PreTokenizerPtr> items_;
};

}  // namespace

PreTokenizerPtr make_bert_pre_tokenizer() { return std::make_shared<BertPre>(); }
PreTokenizerPtr make_byte_level_pre_tokenizer(bool add_prefix_space, bool use_regex) {
  return std::make_shared<ByteLevelPre>(add_prefix_space, use_regex);
}
PreTokenizerPtr make_metaspace_pre_tokenizer(std::string replacement, PrependScheme scheme, bool split) {
  return std::make_shared<Metaspace>(std::move(replacement), scheme, split);
}
PreTokenizerPtr make_whitespace_pre_tokenizer() { return std::make_shared<Whitespace>(); }
PreTokenizerPtr make_whitespace_split_pre_tokenizer() { return std::make_shared<WhitespaceSplit>(); }
PreTokenizerPtr make_punctuation_pre_tokenizer(SplitBehavior b) { return std::make_shared<Punctuation>(b); }
PreTokenizerPtr make_split_pre_tokenizer(std::shared_ptr<const Regex> r, SplitBehavior b, bool invert) {
  return std::make_shared<SplitPre>(std::move(r), b, invert);
}
PreTokenizerPtr make_digits_pre_tokenizer(bool individual) { return std::make_shared<Digits>(individual); }
PreTokenizerPtr make_char_delimiter_pre_tokenizer(char32_t d) { return std::make_shared<CharDelimiter>(d); }
PreTokenizerPtr make_sequence_pre_tokenizer(std::vector<PreTokenizerPtr> items) { return std::make_shared<SequencePre>(std::move(items)); }

}  // namespace bert
