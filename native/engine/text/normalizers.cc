#include "engine/text/normalizers.h"

#include "engine/text/byte_level.h"
#include "engine/text/unicode.h"

namespace bert {

void filter_chars(NormalizedString& s, bool (*keep)(char32_t)) {
  std::vector<CharChange>& t = NormalizedString::scratch_changes();
  int32_t removed = 0;
  size_t removed_start = 0;
  bool has_last = false;
  char32_t last = 0;
  const std::string& text = s.get();
  for (size_t i = 0; i < text.size();) {
    size_t n = 0;
    const char32_t c = utf8_decode_at(text, i, &n);
    i += n;
    if (keep(c)) {
      if (has_last)
        t.push_back({last, -removed});
      else
        removed_start = static_cast<size_t>(removed);
      last = c;
      has_last = true;
      removed = 0;
    } else {
      ++removed;
    }
  }
  if (has_last) t.push_back({last, -removed});
  s.transform(t, removed_start);
}

void map_chars(NormalizedString& s, char32_t (*fn)(char32_t)) {
  std::vector<CharChange>& t = NormalizedString::scratch_changes();
  const std::string& text = s.get();
  for (size_t i = 0; i < text.size();) {
    size_t n = 0;
    t.push_back({fn(utf8_decode_at(text, i, &n)), 0});
    i += n;
  }
  s.transform(t, 0);
}

void byte_level_transform(NormalizedString& s) {
  std::vector<CharChange>& t = NormalizedString::scratch_changes();
  const std::string& text = s.get();
  for (size_t i = 0; i < text.size();) {
    const size_t n = utf8_len_of_lead(static_cast<unsigned char>(text[i]));
    for (size_t k = 0; k < n; ++k) t.push_back({byte_level::char_of_byte(static_cast<unsigned char>(text[i + k])), k > 0 ? 1 : 0});
    i += n;
  }
  s.transform(t, 0);
}

void replace_matches(const Regex& pattern, const std::string& text, std::vector<NormalizedString::Range>& out) {
  out.clear();
  if (text.empty()) return;  // Rust's find_matches gives an empty text no match at all
  thread_local std::vector<std::pair<size_t, size_t>> found;
  pattern.find_all(text, found);
  for (const auto& [b, e] : found) out.push_back({b, e});
}

namespace {

// --- BertNormalizer ---

bool bert_keep(char32_t c) { return !(c == 0 || c == 0xFFFD || unicode::is_bert_control(c)); }
char32_t bert_space(char32_t c) { return unicode::is_bert_whitespace(c) ? U' ' : c; }
bool not_nonspacing_mark(char32_t c) { return !unicode::is_nonspacing_mark(c); }

class BertNormalizer : public Normalizer {
 public:
  explicit BertNormalizer(const BertNormalizerOptions& o) : o_(o) {}
  void normalize(NormalizedString& s) const override {
    if (o_.clean_text) {
      filter_chars(s, bert_keep);
      map_chars(s, bert_space);
    }
    if (o_.handle_chinese_chars) {
      std::vector<CharChange>& t = NormalizedString::scratch_changes();
      const std::string& text = s.get();
      bool any = false;
      for (size_t i = 0; i < text.size();) {
        size_t n = 0;
        const char32_t c = utf8_decode_at(text, i, &n);
        i += n;
        if (unicode::is_chinese_char(c)) {
          t.push_back({U' ', 0});
          t.push_back({c, 1});
          t.push_back({U' ', 1});
          any = true;
        } else {
          t.push_back({c, 0});
        }
      }
      if (any) s.transform(t, 0);  // an identity transform changes nothing
    }
    if (o_.strip_accents) {
      unicode::normalize(s, unicode::NormalForm::kNFD);
      filter_chars(s, not_nonspacing_mark);
    }
    if (o_.lowercase) s.lowercase();
  }
  std::string describe() const override { return "BertNormalizer"; }

 private:
  BertNormalizerOptions o_;
};

class UnicodeNormalizer : public Normalizer {
 public:
  explicit UnicodeNormalizer(unicode::NormalForm f) : form_(f) {}
  void normalize(NormalizedString& s) const override { unicode::normalize(s, form_); }
  std::string describe() const override {
    switch (form_) {
      case unicode::NormalForm::kNFD: return "NFD";
      case unicode::NormalForm::kNFKD: return "NFKD";
      case unicode::NormalForm::kNFC: return "NFC";
      default: return "NFKC";
    }
  }

 private:
  unicode::NormalForm form_;
};

class Lowercase : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override { s.lowercase(); }
  std::string describe() const override { return "Lowercase"; }
};

class Strip : public Normalizer {
 public:
  Strip(bool l, bool r) : left_(l), right_(r) {}
  void normalize(NormalizedString& s) const override {
    if (left_ && right_) {
      s.strip(true, true);
    } else {
      if (left_) s.strip(true, false);
      if (right_) s.strip(false, true);
    }
  }
  std::string describe() const override { return "Strip"; }

 private:
  bool left_, right_;
};

bool not_combining_mark(char32_t c) { return !unicode::is_combining_mark(c); }

class StripAccents : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override { filter_chars(s, not_combining_mark); }
  std::string describe() const override { return "StripAccents"; }
};

class Replace : public Normalizer {
 public:
  Replace(std::shared_ptr<const Regex> p, std::string c) : pattern_(std::move(p)), content_(std::move(c)) {}
  void normalize(NormalizedString& s) const override {
    thread_local std::vector<NormalizedString::Range> matches;
    replace_matches(*pattern_, s.get(), matches);
    s.replace(matches, content_);
  }
  std::string describe() const override { return "Replace"; }

 private:
  std::shared_ptr<const Regex> pattern_;
  std::string content_;
};

class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string p) : prepend_(std::move(p)) {}
  void normalize(NormalizedString& s) const override {
    if (!s.empty()) s.prepend(prepend_);
  }
  std::string describe() const override { return "Prepend"; }

 private:
  std::string prepend_;
};

class Precompiled : public Normalizer {
 public:
  explicit Precompiled(std::shared_ptr<const PrecompiledCharsmap> m) : map_(std::move(m)) {}
  void normalize(NormalizedString& s) const override { map_->normalize(s); }
  std::string describe() const override { return "Precompiled"; }

 private:
  std::shared_ptr<const PrecompiledCharsmap> map_;
};

bool nmt_keep(char32_t c) {
  return !((c >= 0x1 && c <= 0x8) || c == 0xB || (c >= 0xE && c <= 0x1F) || c == 0x7F || c == 0x8F || c == 0x9F);
}
char32_t nmt_space(char32_t c) {
  switch (c) {
    case 0x9:
    case 0xA:
    case 0xC:
    case 0xD:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x2581:
    case 0xFEFF:
    case 0xFFFD: return U' ';
    default: return c >= 0x200B && c <= 0x200F ? U' ' : c;
  }
}

class Nmt : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override {
    filter_chars(s, nmt_keep);
    map_chars(s, nmt_space);
  }
  std::string describe() const override { return "Nmt"; }
};

class ByteLevelNorm : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override {
    if (!s.empty()) byte_level_transform(s);
  }
  std::string describe() const override { return "ByteLevel"; }
};

class Sequence : public Normalizer {
 public:
  explicit Sequence(std::vector<NormalizerPtr> n) : items_(std::move(n)) {}
  void normalize(NormalizedString& s) const override {
    for (const auto& n : items_) n->normalize(s);
  }
  std::string describe() const override {
    std::string d = "Sequence[";
    for (size_t i = 0; i < items_.size(); ++i) d += (i ? ", " : "") + items_[i]->describe();
    return d + "]";
  }

 private:
  std::vector<NormalizerPtr> items_;
};

}  // namespace

NormalizerPtr make_bert_normalizer(const BertNormalizerOptions& o) { return std::make_shared<BertNormalizer>(o); }
NormalizerPtr make_unicode_normalizer(unicode::NormalForm f) { return std::make_shared<UnicodeNormalizer>(f); }
NormalizerPtr make_lowercase_normalizer() { return std::make_shared<Lowercase>(); }
NormalizerPtr make_strip_normalizer(bool l, bool r) { return std::make_shared<Strip>(l, r); }
NormalizerPtr make_strip_accents_normalizer() { return std::make_shared<StripAccents>(); }
NormalizerPtr make_replace_normalizer(std::shared_ptr<const Regex> p, std::string c) {
  return std::make_shared<Replace>(std::move(p), std::move(c));
}
NormalizerPtr make_prepend_normalizer(std::string p) { return std::make_shared<Prepend>(std::move(p)); }
NormalizerPtr make_precompiled_normalizer(std::shared_ptr<const PrecompiledCharsmap> m) {
  return std::make_shared<Precompiled>(std::move(m));
}
NormalizerPtr make_nmt_normalizer() { return std::make_shared<Nmt>(); }
NormalizerPtr make_byte_level_normalizer() { return std::make_shared<ByteLevelNorm>(); }
NormalizerPtr make_sequence_normalizer(std::vector<NormalizerPtr> n) { return std::make_shared<Sequence>(std::move(n)); }

}  // namespace bert
