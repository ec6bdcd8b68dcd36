// The Tokenizer facade: builds the pipeline from the files (tokenizer_json.cc or a vocab.txt), finds
// the role tokens, picks BERT's one-pass fast path when the pipeline is exactly BERT's, and runs
// Hugging Face's encode: each text through the pipeline, truncation (TruncationStrategy::
// LongestFirst, the room the post-processor needs reserved), the post-processor's offset trimming and
// special tokens, then UTF-16 offsets.
#include "engine/text/tokenizer.h"

#include <algorithm>

#include "engine/errors.h"
#include "engine/text/bert_fast_path.h"
#include "engine/text/pipeline.h"
#include "engine/text/tokenizer_files.h"
#include "engine/text/tokenizer_json.h"
#include "engine/text/unicode.h"

namespace bert {

struct Tokenizer::Impl {
  TokenizerConfig config;
  std::unique_ptr<Pipeline> pipeline;
  std::unique_ptr<BertFastPath> fast;
  TokenizerDescription description;
  int64_t unk = -1, cls = -1, sep = -1, pad = -1, mask = -1;
  size_t id_space = 0;

  const PipelineParts& parts() const { return pipeline->parts(); }

  // One text's tokens. `limit` (the truncation max_length, 0: none) lets tokenizing stop early, as
  // Rust's tokenize_with_limit does; for a pair, where the texts' lengths decide how each is cut, the
  // BERT fast path reproduces where Rust would have stopped (RawSequence::limit_pieces).
  void encode_one(std::string_view text, size_t limit, bool from_end, bool pair, RawSequence& out) const {
    if (const size_t bad = unicode::find_invalid_utf8(text); bad != std::string_view::npos)
      throw EngineError(ErrorCode::kInvalidArgument, "text is not valid UTF-8 (invalid byte sequence at byte " + std::to_string(bad) + ")");
    if (!fast) {
      pipeline->encode(text, limit, from_end, out);
      return;
    }
    out.record_splits = pair && limit != 0;
    // A single text is cut to at most `limit` tokens later: stopping past `limit` tokens loses nothing.
    fast->encode(text, from_end || out.record_splits ? 0 : limit, out);
    if (out.record_splits) out.limit_pieces(limit, from_end);
    out.record_splits = false;
  }

  size_t added_tokens(bool pair) const { return parts().post_processor ? parts().post_processor->added_tokens(pair) : 0; }

  // Rust post_process: truncation (room kept for the special tokens), then the post-processor.
  Encoding finish(RawSequence* a, RawSequence* b, const EncodeOptions& o) const {
    bool truncated = false;
    if (o.max_length != 0) {
      const size_t added = o.add_special_tokens ? added_tokens(b != nullptr) : 0;
      if (o.max_length < added)
        throw EngineError(ErrorCode::kInvalidArgument, "max_length " + std::to_string(o.max_length) + " cannot hold the " +
                                                           std::to_string(added) + " special tokens this tokenizer adds");
      const size_t max = o.max_length - added;
      const bool from_end = o.side == TruncationSide::kLeft;
      const size_t before = a->size() + (b ? b->size() : 0);
      if (b == nullptr) {
        a->keep(max, from_end);
      } else if (a->size() + b->size() > max) {
        // truncate_encodings, LongestFirst.
        size_t n1 = a->size(), n2 = b->size();
        const bool swap = n1 > n2;
        if (swap) std::swap(n1, n2);
        if (n1 > max)
          n2 = n1;
        else
          n2 = std::max(n1, max - n1);
        if (n1 + n2 > max) {
          n1 = max / 2;
          n2 = n1 + max % 2;
        }
        if (swap) std::swap(n1, n2);
        a->keep(n1, from_end);
        b->keep(n2, from_end);
      }
      truncated = a->size() + (b ? b->size() : 0) < before || a->stopped_early || (b && b->stopped_early);
    }
    thread_local SequenceTokens sa, sb;
    pipeline->finish(*a, sa);
    if (b) pipeline->finish(*b, sb);
    Encoding out;
    post_process(parts().post_processor.get(), sa, b ? &sb : nullptr, o.add_special_tokens, out);
    out.truncated = truncated;
    return out;
  }

  // The limit the pipeline may stop tokenizing at (Rust tokenize_with_limit gets the full max_length).
  static size_t limit_of(const EncodeOptions& o) { return o.max_length; }
};

namespace {

// transformers' PreTrainedTokenizerBase.clean_up_tokenization, over the whole decoded string.
std::string clean_up_tokenization(std::string s) {
  static const std::pair<std::string_view, std::string_view> kCleanups[] = {{" .", "."},     {" ?", "?"},     {" !", "!"},   {" ,", ","},
                                                                            {" ' ", "'"},    {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"},
                                                                            {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kCleanups) {
    size_t at = s.find(from);
    if (at == std::string::npos) continue;
    std::string out;
    size_t done = 0;
    for (; at != std::string::npos; at = s.find(from, done)) {
      out.append(s, done, at - done);
      out.append(to);
      done = at + from.size();
    }
    out.append(s, done, std::string::npos);
    s.swap(out);
  }
  return s;
}

int64_t find_id(const PipelineParts& p, const std::string& name) {
  if (name.empty()) return -1;
  const int32_t a = p.added.token_to_id(name);
  return a >= 0 ? a : p.model->token_to_id(name);
}

// The role tokens' ids from their names in the config (-1: the tokenizer has no such token).
void find_roles(Tokenizer::Impl& impl) {
  const PipelineParts& p = impl.parts();
  const TokenizerConfig& c = impl.config;
  impl.unk = find_id(p, c.unk_token);
  impl.cls = find_id(p, c.cls_token);
  impl.sep = find_id(p, c.sep_token);
  impl.pad = find_id(p, c.pad_token);
  impl.mask = find_id(p, c.mask_token);
}

// The first name in `candidates` the tokenizer has, or "".
std::string first_present(const PipelineParts& p, std::initializer_list<std::string> candidates) {
  for (const std::string& c : candidates)
    if (find_id(p, c) >= 0) return c;
  return "";
}

std::unique_ptr<Tokenizer::Impl> finish_build(std::unique_ptr<Tokenizer::Impl> impl, PipelineParts parts,
                                              const std::vector<AddedTokenSpec>& added, bool fast_eligible,
                                              const BertFastPath::Options& fast_options, const std::string& source) {
  parts.added.add(added, *parts.model, parts.normalizer.get());
  impl->id_space = std::max(parts.model->id_space(), parts.added.id_space());
  // Rust adds the post-processor's ids as the file writes them; one outside the vocabulary would
  // index past the model's embeddings.
  if (parts.post_processor)
    for (const bool pair : {false, true})
      for (const auto& [token, id] : parts.post_processor->specials(pair))
        if (id < 0 || static_cast<size_t>(id) >= impl->id_space)
          throw EngineError(ErrorCode::kTokenizerInvalid, source + ": the post-processor adds \"" + token + "\" as id " +
                                                              std::to_string(id) + ", beyond the vocabulary's ids (0-" +
                                                              std::to_string(impl->id_space - 1) + ")");
  TokenizerDescription& d = impl->description;
  d.source = source;
  d.model = parts.model->describe();
  d.normalizer = parts.normalizer ? parts.normalizer->describe() : "";
  d.pre_tokenizer = parts.pre_tokenizer ? parts.pre_tokenizer->describe() : "";
  d.post_processor = parts.post_processor ? parts.post_processor->describe() : "";
  d.decoder = parts.decoder ? parts.decoder->describe() : "";
  impl->pipeline = std::make_unique<Pipeline>(std::move(parts));
  const PipelineParts& p = impl->parts();
  if (fast_eligible && p.added.raw_only() && !impl->pipeline->trims()) {
    std::vector<BertFastPath::Added> fast_added;
    for (const auto& [id, t] : p.added.tokens()) fast_added.push_back({t->content, id, t->lstrip, t->rstrip});
    impl->fast = std::make_unique<BertFastPath>(fast_options, p.model, fast_added);
    d.fast_path = true;
  }
  find_roles(*impl);
  return impl;
}

std::unique_ptr<Tokenizer::Impl> build_from_vocab(std::vector<std::string> vocab, TokenizerConfig config, const std::string& source) {
  auto impl = std::make_unique<Tokenizer::Impl>();
  impl->config = std::move(config);
  TokenizerConfig& c = impl->config;
  // The five role tokens a BERT vocabulary must have: special added tokens matched in the raw text,
  // as BertTokenizerFast makes them (the last line wins for duplicates, as in the vocabulary).
  std::vector<AddedTokenSpec> added;
  for (const auto& [name, role] : std::initializer_list<std::pair<const std::string*, const char*>>{{&c.pad_token, "padding"},
                                                                                                    {&c.unk_token, "unknown"},
                                                                                                    {&c.cls_token, "classifier (CLS)"},
                                                                                                    {&c.sep_token, "separator (SEP)"},
                                                                                                    {&c.mask_token, "mask"}}) {
    if (std::find(vocab.begin(), vocab.end(), *name) == vocab.end())
      throw EngineError(ErrorCode::kTokenizerInvalid, source + ": the " + role + " token \"" + *name + "\" is not in the vocabulary");
    AddedTokenSpec a;
    a.content = *name;
    a.special = true;
    a.normalized = false;
    added.push_back(std::move(a));
  }
  int64_t cls_id = -1, sep_id = -1;
  for (size_t id = vocab.size(); id-- > 0;) {
    if (cls_id < 0 && vocab[id] == c.cls_token) cls_id = static_cast<int64_t>(id);
    if (sep_id < 0 && vocab[id] == c.sep_token) sep_id = static_cast<int64_t>(id);
  }
  PipelineParts parts;
  BertFastPath::Options fo;
  fo.normalizer = BertNormalizerOptions{c.clean_text, c.handle_chinese_chars, c.strip_accents, c.lowercase};
  fo.max_input_chars_per_word = c.max_input_chars_per_word;
  parts.normalizer = make_bert_normalizer(fo.normalizer);
  parts.pre_tokenizer = make_bert_pre_tokenizer();
  WordPieceOptions wo;
  wo.unk_token = c.unk_token;
  wo.max_input_chars_per_word = c.max_input_chars_per_word;
  parts.model = make_wordpiece_model(std::move(vocab), wo, source);
  parts.post_processor = make_bert_processing({c.sep_token, sep_id}, {c.cls_token, cls_id});
  parts.decoder = make_wordpiece_decoder("##", true);
  return finish_build(std::move(impl), std::move(parts), added, true, fo, source);
}

std::unique_ptr<Tokenizer::Impl> build_from_json(const TokenizerSources& s) {
  ParsedTokenizerJson parsed = parse_tokenizer_json(s.main.name, s.main.text);
  auto impl = std::make_unique<Tokenizer::Impl>();
  TokenizerConfig& c = impl->config;
  c.unk_token = c.cls_token = c.sep_token = c.pad_token = c.mask_token = "";
  c.clean_up_tokenization_spaces = parsed.wordpiece;
  if (parsed.bert_normalizer) {
    c.lowercase = parsed.bert_options.lowercase;
    c.strip_accents = parsed.bert_options.strip_accents;
    c.handle_chinese_chars = parsed.bert_options.handle_chinese_chars;
    c.clean_text = parsed.bert_options.clean_text;
  } else {
    c.lowercase = c.strip_accents = c.handle_chinese_chars = c.clean_text = false;
  }
  c.max_input_chars_per_word = parsed.max_input_chars_per_word;
  std::vector<std::string> named;
  read_tokenizer_config(s, c, false, &named);
  const bool fast_eligible = parsed.wordpiece && parsed.bert_normalizer && parsed.bert_pre_tokenizer;
  BertFastPath::Options fo;
  fo.normalizer = parsed.bert_options;
  fo.max_input_chars_per_word = parsed.max_input_chars_per_word;
  const std::vector<std::pair<std::string, int64_t>> specials =
      parsed.parts.post_processor ? parsed.parts.post_processor->specials(false) : std::vector<std::pair<std::string, int64_t>>{};
  impl = finish_build(std::move(impl), std::move(parsed.parts), parsed.added, fast_eligible, fo, s.main.name);
  // Roles the config files did not name: found in the tokenizer.
  const PipelineParts& p = impl->parts();
  auto unnamed = [&](const char* key) { return std::find(named.begin(), named.end(), key) == named.end(); };
  if (unnamed("unk_token")) {
    const auto model_unk = p.model->unk_token();
    c.unk_token = model_unk && find_id(p, *model_unk) >= 0 ? *model_unk : first_present(p, {"[UNK]", "<unk>"});
  }
  if (unnamed("cls_token")) c.cls_token = !specials.empty() ? specials.front().first : first_present(p, {"[CLS]", "<s>"});
  if (unnamed("sep_token")) c.sep_token = specials.size() >= 2 ? specials.back().first : first_present(p, {"[SEP]", "</s>"});
  if (unnamed("pad_token")) c.pad_token = first_present(p, {"[PAD]", "<pad>"});
  if (unnamed("mask_token")) c.mask_token = first_present(p, {"[MASK]", "<mask>"});
  if (unnamed("bos_token")) c.bos_token = first_present(p, {"<s>"});
  if (unnamed("eos_token")) c.eos_token = first_present(p, {"</s>"});
  find_roles(*impl);
  return impl;
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

std::shared_ptr<const Tokenizer> Tokenizer::from_sources(const TokenizerSources& s) {
  if (s.tokenizer_json) return std::shared_ptr<const Tokenizer>(new Tokenizer(build_from_json(s)));
  TokenizerConfig c;
  read_tokenizer_config(s, c, true, nullptr);
  return std::shared_ptr<const Tokenizer>(new Tokenizer(build_from_vocab(parse_vocab_txt(s.main), std::move(c), s.main.name)));
}

std::shared_ptr<const Tokenizer> Tokenizer::load(const std::string& path) { return from_sources(read_tokenizer_sources(path)); }

std::shared_ptr<const Tokenizer> Tokenizer::from_vocab(std::vector<std::string> vocab, TokenizerConfig config) {
  return std::shared_ptr<const Tokenizer>(new Tokenizer(build_from_vocab(std::move(vocab), std::move(config), "in-memory vocabulary")));
}

Encoding Tokenizer::encode(std::string_view text, const EncodeOptions& o) const {
  thread_local RawSequence a;
  impl_->encode_one(text, Impl::limit_of(o), o.side == TruncationSide::kLeft, false, a);
  return impl_->finish(&a, nullptr, o);
}

Encoding Tokenizer::encode_pair(std::string_view text, std::string_view pair, const EncodeOptions& o) const {
  thread_local RawSequence a, b;
  impl_->encode_one(text, Impl::limit_of(o), o.side == TruncationSide::kLeft, true, a);
  impl_->encode_one(pair, Impl::limit_of(o), o.side == TruncationSide::kLeft, true, b);
  return impl_->finish(&a, &b, o);
}

Encoding Tokenizer::encode(std::string_view text, bool add_special_tokens, size_t max_length) const {
  EncodeOptions o;
  o.add_special_tokens = add_special_tokens;
  o.max_length = max_length;
  return encode(text, o);
}

Encoding Tokenizer::encode_ids(const std::vector<int64_t>& ids, const EncodeOptions& o) const {
  thread_local RawSequence a;
  a.clear();
  a.ids = ids;
  a.offsets.assign(ids.size(), {0, 0});
  return impl_->finish(&a, nullptr, o);
}

size_t Tokenizer::added_tokens(bool pair) const { return impl_->added_tokens(pair); }

std::string Tokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens, bool clean_up_tokenization_spaces) const {
  const PipelineParts& p = impl_->parts();
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (const int64_t id : ids) {
    const std::string* t = find_token(id);
    if (t == nullptr) continue;  // as Hugging Face: ids without a token are skipped
    if (skip_special_tokens && p.added.is_special_content(*t)) continue;
    tokens.push_back(*t);
  }
  std::string s = decode_tokens(p.decoder.get(), std::move(tokens));
  return clean_up_tokenization_spaces ? clean_up_tokenization(std::move(s)) : s;
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
  return decode(ids, skip_special_tokens, impl_->config.clean_up_tokenization_spaces);
}

std::string Tokenizer::convert_tokens_to_string(const std::vector<std::string_view>& tokens) const {
  return decode_tokens(impl_->parts().decoder.get(), std::vector<std::string>(tokens.begin(), tokens.end()));
}

const std::string* Tokenizer::find_token(int64_t id) const {
  if (id < 0 || id > INT32_MAX) return nullptr;
  const PipelineParts& p = impl_->parts();
  if (const std::string* t = p.added.id_to_token(static_cast<int32_t>(id))) return t;
  return p.model->id_to_token(static_cast<int32_t>(id));
}

const std::string& Tokenizer::id_to_token(int64_t id) const {
  const std::string* t = find_token(id);
  return t ? *t : impl_->config.unk_token;
}

int64_t Tokenizer::token_to_id(std::string_view token) const { return find_id(impl_->parts(), std::string(token)); }

bool Tokenizer::is_special(int64_t id) const {
  return id >= 0 && id <= INT32_MAX && impl_->parts().added.is_special_id(static_cast<int32_t>(id));
}

size_t Tokenizer::vocab_size() const { return impl_->id_space; }
const TokenizerConfig& Tokenizer::config() const { return impl_->config; }
TokenizerDescription Tokenizer::describe() const { return impl_->description; }
int64_t Tokenizer::cls_id() const { return impl_->cls; }
int64_t Tokenizer::sep_id() const { return impl_->sep; }
int64_t Tokenizer::pad_id() const { return impl_->pad; }
int64_t Tokenizer::mask_id() const { return impl_->mask; }
int64_t Tokenizer::unk_id() const { return impl_->unk; }

}  // namespace bert
