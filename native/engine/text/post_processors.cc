#include "engine/text/post_processors.h"

namespace bert {

namespace {

EncodingPart special_part(const std::vector<int64_t>& ids, uint32_t type_id) {
  EncodingPart p;
  p.ids = ids;
  p.type_ids.assign(ids.size(), type_id);
  p.offsets.assign(ids.size(), {0, 0});
  p.special.assign(ids.size(), 1);
  return p;
}

// `before` + part + `after`, the added ones special with offsets {0, 0}.
void wrap(EncodingPart& part, const int64_t* before, uint32_t before_type, int64_t after, uint32_t after_type) {
  if (before != nullptr) {
    part.ids.insert(part.ids.begin(), *before);
    part.type_ids.insert(part.type_ids.begin(), before_type);
    part.offsets.insert(part.offsets.begin(), {0, 0});
    part.special.insert(part.special.begin(), 1);
  }
  part.ids.push_back(after);
  part.type_ids.push_back(after_type);
  part.offsets.push_back({0, 0});
  part.special.push_back(1);
}

class BertProcessing : public PostProcessor {
 public:
  BertProcessing(std::pair<std::string, int64_t> sep, std::pair<std::string, int64_t> cls) : sep_(std::move(sep)), cls_(std::move(cls)) {}
  size_t added_tokens(bool pair) const override { return pair ? 3 : 2; }
  void process(std::vector<EncodingPart>& parts, bool add) const override {
    if (!add) return;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i == 0)
        wrap(parts[i], &cls_.second, 0, sep_.second, 0);
      else
        wrap(parts[i], nullptr, 0, sep_.second, 1);
    }
  }
  std::vector<std::pair<std::string, int64_t>> specials(bool) const override { return {cls_, sep_}; }
  std::string describe() const override { return "BertProcessing"; }

 private:
  std::pair<std::string, int64_t> sep_, cls_;
};

class RobertaProcessing : public PostProcessor {
 public:
  RobertaProcessing(std::pair<std::string, int64_t> sep, std::pair<std::string, int64_t> cls, bool trim, bool prefix)
      : sep_(std::move(sep)), cls_(std::move(cls)), trim_(trim), prefix_(prefix) {}
  size_t added_tokens(bool pair) const override { return pair ? 4 : 2; }
  void process(std::vector<EncodingPart>& parts, bool add) const override {
    for (EncodingPart& p : parts) p.type_ids.assign(p.ids.size(), 0);  // "RoBERTa is weird": every type id is 0
    if (!add) return;
    for (size_t i = 0; i < parts.size(); ++i) wrap(parts[i], i == 0 ? &cls_.second : &sep_.second, 0, sep_.second, 0);
  }
  void trim_passes(std::vector<bool>& out) const override {
    if (trim_) out.push_back(prefix_);
  }
  std::vector<std::pair<std::string, int64_t>> specials(bool) const override { return {cls_, sep_}; }
  std::string describe() const override { return "RobertaProcessing"; }

 private:
  std::pair<std::string, int64_t> sep_, cls_;
  bool trim_, prefix_;
};

class TemplateProcessing : public PostProcessor {
 public:
  TemplateProcessing(std::vector<TemplatePiece> single, std::vector<TemplatePiece> pair, std::map<std::string, SpecialTokenIds> specials)
      : single_(std::move(single)), pair_(std::move(pair)), specials_(std::move(specials)) {}
  size_t added_tokens(bool pair) const override {
    size_t n = 0;
    for (const TemplatePiece& p : pair ? pair_ : single_)
      if (!p.is_sequence) n += specials_.at(p.special).ids.size();
    return n;
  }
  void process(std::vector<EncodingPart>& parts, bool add) const override {
    const std::vector<TemplatePiece>& tmpl = parts.size() == 2 ? pair_ : single_;
    std::vector<EncodingPart> out;
    for (const TemplatePiece& p : tmpl) {
      if (p.is_sequence) {
        EncodingPart e = parts[p.sequence_b ? 1 : 0];
        e.type_ids.assign(e.ids.size(), p.type_id);
        out.push_back(std::move(e));
      } else if (add) {
        out.push_back(special_part(specials_.at(p.special).ids, p.type_id));
      }
    }
    parts.swap(out);
  }
  std::vector<std::pair<std::string, int64_t>> specials(bool pair) const override {
    std::vector<std::pair<std::string, int64_t>> out;
    for (const TemplatePiece& p : pair ? pair_ : single_) {
      if (p.is_sequence) continue;
      const SpecialTokenIds& s = specials_.at(p.special);
      for (size_t i = 0; i < s.ids.size(); ++i) out.emplace_back(i < s.tokens.size() ? s.tokens[i] : s.id, s.ids[i]);
    }
    return out;
  }
  std::string describe() const override { return "TemplateProcessing"; }

 private:
  std::vector<TemplatePiece> single_, pair_;
  std::map<std::string, SpecialTokenIds> specials_;
};

class ByteLevelProcessing : public PostProcessor {
 public:
  ByteLevelProcessing(bool trim, bool prefix) : trim_(trim), prefix_(prefix) {}
  size_t added_tokens(bool) const override { return 0; }
  void process(std::vector<EncodingPart>&, bool) const override {}
  void trim_passes(std::vector<bool>& out) const override {
    if (trim_) out.push_back(prefix_);
  }
  std::vector<std::pair<std::string, int64_t>> specials(bool) const override { return {}; }
  std::string describe() const override { return "ByteLevel"; }

 private:
  bool trim_, prefix_;
};

class SequenceProcessing : public PostProcessor {
 public:
  explicit SequenceProcessing(std::vector<PostProcessorPtr> items) : items_(std::move(items)) {}
  size_t added_tokens(bool pair) const override {
    size_t n = 0;
    for (const auto& p : items_) n += p->added_tokens(pair);
    return n;
  }
  void process(std::vector<EncodingPart>& parts, bool add) const override {
    for (const auto& p : items_) p->process(parts, add);
  }
  void trim_passes(std::vector<bool>& out) const override {
    for (const auto& p : items_) p->trim_passes(out);
  }
  std::vector<std::pair<std::string, int64_t>> specials(bool pair) const override {
    std::vector<std::pair<std::string, int64_t>> out;
    for (const auto& p : items_) {
      auto s = p->specials(pair);
      out.insert(out.end(), s.begin(), s.end());
    }
    return out;
  }
  std::string describe() const override {
    std::string d = "Sequence[";
    for (size_t i = 0; i < items_.size(); ++i) d += (i ? ", " : "") + items_[i]->describe();
    return d + "]";
  }

 private:
  std::vector<PostProcessorPtr> items_;
};

}  // namespace

PostProcessorPtr make_bert_processing(std::pair<std::string, int64_t> sep, std::pair<std::string, int64_t> cls) {
  return std::make_shared<BertProcessing>(std::move(sep), std::move(cls));
}
PostProcessorPtr make_roberta_processing(std::pair<std::string, int64_t> sep, std::pair<std::string, int64_t> cls, bool trim, bool prefix) {
  return std::make_shared<RobertaProcessing>(std::move(sep), std::move(cls), trim, prefix);
}
PostProcessorPtr make_template_processing(std::vector<TemplatePiece> single, std::vector<TemplatePiece> pair,
                                          std::map<std::string, SpecialTokenIds> special_tokens) {
  return std::make_shared<TemplateProcessing>(std::move(single), std::move(pair), std::move(special_tokens));
}
PostProcessorPtr make_byte_level_processing(bool trim, bool prefix) { return std::make_shared<ByteLevelProcessing>(trim, prefix); }
PostProcessorPtr make_sequence_processing(std::vector<PostProcessorPtr> items) {
  return std::make_shared<SequenceProcessing>(std::move(items));
}

void post_process(const PostProcessor* processor, const SequenceTokens& a, const SequenceTokens* b, bool add_special_tokens,
                  Encoding& out) {
  thread_local std::vector<EncodingPart> parts;
  parts.resize(b ? 2 : 1);
  for (size_t i = 0; i < parts.size(); ++i) {
    const SequenceTokens& s = i == 0 ? a : *b;
    EncodingPart& p = parts[i];
    p.ids = s.ids;
    p.offsets = s.offsets;
    p.type_ids.assign(s.ids.size(), static_cast<uint32_t>(i));
    p.special.assign(s.ids.size(), 0);
  }
  if (processor != nullptr) processor->process(parts, add_special_tokens);
  size_t n = 0;
  for (const EncodingPart& p : parts) n += p.ids.size();
  out.ids.clear();
  out.offsets.clear();
  out.type_ids.clear();
  out.special_tokens_mask.clear();
  out.ids.reserve(n);
  out.offsets.reserve(n);
  out.type_ids.reserve(n);
  out.special_tokens_mask.reserve(n);
  bool any_special = false;
  for (const EncodingPart& p : parts) {
    out.ids.insert(out.ids.end(), p.ids.begin(), p.ids.end());
    out.offsets.insert(out.offsets.end(), p.offsets.begin(), p.offsets.end());
    out.type_ids.insert(out.type_ids.end(), p.type_ids.begin(), p.type_ids.end());
    out.special_tokens_mask.insert(out.special_tokens_mask.end(), p.special.begin(), p.special.end());
    for (uint8_t s : p.special) any_special = any_special || s;
  }
  out.has_special_tokens = any_special;
}

}  // namespace bert
