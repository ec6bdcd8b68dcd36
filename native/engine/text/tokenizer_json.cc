#include "engine/text/tokenizer_json.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "engine/errors.h"
#include "engine/text/unicode.h"

namespace bert {

namespace {

using json = nlohmann::json;

[[noreturn]] void invalid(const std::string& file, const std::string& what) {
  throw EngineError(ErrorCode::kTokenizerInvalid, file + ": " + what);
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// The ids of a model's vocabulary index a table with a slot per id, holes included: bounded by the
// entries there are, so a small file cannot make the loader allocate and scan millions of empty slots
// (a 709-byte tokenizer.json with one id of 9,184,415 took 2 s; found by tokenizer_files_fuzz).
size_t id_space_limit(size_t entries) { return std::min<size_t>(size_t{1} << 24, 2 * entries + 1024); }

struct Reader {
  const std::string& file;

  std::string type_of(const json& j) const {
    if (j.is_object() && j.contains("type") && j["type"].is_string()) return j["type"].get<std::string>();
    return "";
  }
  bool get_bool(const json& obj, const char* key, bool fallback) const {
    if (!obj.contains(key) || obj[key].is_null()) return fallback;
    if (!obj[key].is_boolean()) invalid(file, std::string("\"") + key + "\" must be true or false");
    return obj[key].get<bool>();
  }
  std::string get_string(const json& obj, const char* key, const std::string& fallback, const std::string& where) const {
    if (!obj.contains(key) || obj[key].is_null()) return fallback;
    if (!obj[key].is_string()) invalid(file, where + ": \"" + key + "\" must be a string");
    return obj[key].get<std::string>();
  }
  size_t get_size(const json& obj, const char* key, size_t fallback, const std::string& where) const {
    if (!obj.contains(key) || obj[key].is_null()) return fallback;
    if (!obj[key].is_number_unsigned()) invalid(file, where + ": \"" + key + "\" must be a non-negative integer");
    return obj[key].get<size_t>();
  }
  char32_t get_char(const json& obj, const char* key, const std::string& fallback, const std::string& where) const {
    const std::string s = get_string(obj, key, fallback, where);
    if (s.empty() || unicode::find_invalid_utf8(s) != std::string_view::npos)
      invalid(file, where + ": \"" + key + "\" must be one character");
    size_t n = 0;
    const char32_t c = utf8_decode_at(s, 0, &n);
    if (n != s.size()) invalid(file, where + ": \"" + key + "\" must be one character, not \"" + s + "\"");
    return c;
  }
  [[noreturn]] void unsupported(const char* section, const json& j, const std::vector<std::string>& supported) const {
    const std::string t = type_of(j);
    invalid(file, std::string(section) + " " + (t.empty() ? std::string(j.type_name()) : "\"" + t + "\"") +
                      " is not supported (supported: " + join(supported) + ")");
  }

  std::shared_ptr<const Regex> pattern(const json& obj, const std::string& where) const {
    if (!obj.contains("pattern") || !obj["pattern"].is_object() || obj["pattern"].size() != 1)
      invalid(file, where + ": \"pattern\" must be {\"String\": ...} or {\"Regex\": ...}");
    const json& p = obj["pattern"];
    const bool literal = p.contains("String");
    const json& v = literal ? p["String"] : p.contains("Regex") ? p["Regex"] : json();
    if (!v.is_string()) invalid(file, where + ": \"pattern\" must be {\"String\": ...} or {\"Regex\": ...}");
    return Regex::compile(v.get<std::string>(), literal, file + ": " + where);
  }

  SplitBehavior behavior(const json& obj, const std::string& where, const char* fallback) const {
    const std::string b = get_string(obj, "behavior", fallback, where);
    if (b == "Removed") return SplitBehavior::kRemoved;
    if (b == "Isolated") return SplitBehavior::kIsolated;
    if (b == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
    if (b == "MergedWithNext") return SplitBehavior::kMergedWithNext;
    if (b == "Contiguous") return SplitBehavior::kContiguous;
    invalid(file, where + ": behavior \"" + b + "\" is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous");
  }

  PrependScheme prepend_scheme(const json& obj, const std::string& where) const {
    std::string s = get_string(obj, "prepend_scheme", "always", where);
    PrependScheme scheme;
    if (s == "always")
      scheme = PrependScheme::kAlways;
    else if (s == "first")
      scheme = PrependScheme::kFirst;
    else if (s == "never")
      scheme = PrependScheme::kNever;
    else
      invalid(file, where + ": prepend_scheme \"" + s + "\" is not one of always, first, never");
    // Older files: add_prefix_space; false must agree with prepend_scheme (Rust refuses otherwise).
    if (obj.contains("add_prefix_space") && obj["add_prefix_space"].is_boolean() && !obj["add_prefix_space"].get<bool>()) {
      if (scheme != PrependScheme::kNever && obj.contains("prepend_scheme"))
        invalid(file, where + ": add_prefix_space does not match declared prepend_scheme");
      scheme = PrependScheme::kNever;
    }
    return scheme;
  }

  // ---------------------------------------------------------------------------------------------

  NormalizerPtr normalizer(const json& n, ParsedTokenizerJson& out, bool top) const {
    const std::string t = type_of(n);
    const std::string where = "normalizer \"" + t + "\"";
    if (t == "BertNormalizer" || t == "Bert") {
      BertNormalizerOptions o;
      o.clean_text = get_bool(n, "clean_text", true);
      o.handle_chinese_chars = get_bool(n, "handle_chinese_chars", true);
      o.lowercase = get_bool(n, "lowercase", true);
      o.strip_accents = get_bool(n, "strip_accents", o.lowercase);  // null follows lowercase
      if (top) {
        out.bert_normalizer = true;
        out.bert_options = o;
      }
      return make_bert_normalizer(o);
    }
    if (t == "NFD") return make_unicode_normalizer(unicode::NormalForm::kNFD);
    if (t == "NFKD") return make_unicode_normalizer(unicode::NormalForm::kNFKD);
    if (t == "NFC") return make_unicode_normalizer(unicode::NormalForm::kNFC);
    if (t == "NFKC") return make_unicode_normalizer(unicode::NormalForm::kNFKC);
    if (t == "Lowercase") return make_lowercase_normalizer();
    if (t == "Strip") return make_strip_normalizer(get_bool(n, "strip_left", true), get_bool(n, "strip_right", true));
    if (t == "StripAccents") return make_strip_accents_normalizer();
    if (t == "Nmt") return make_nmt_normalizer();
    if (t == "Replace") return make_replace_normalizer(pattern(n, where), get_string(n, "content", "", where));
    if (t == "Prepend") return make_prepend_normalizer(get_string(n, "prepend", "", where));
    if (t == "ByteLevel") return make_byte_level_normalizer();
    if (t == "Precompiled") {
      if (!n.contains("precompiled_charsmap") || !n["precompiled_charsmap"].is_string())
        invalid(file, where + ": \"precompiled_charsmap\" must be a base64 string");
      std::string blob;
      if (!base64_decode(n["precompiled_charsmap"].get<std::string>(), blob))
        invalid(file, where + ": \"precompiled_charsmap\" is not valid base64");
      return make_precompiled_normalizer(std::make_shared<PrecompiledCharsmap>(std::move(blob), file + ": " + where));
    }
    if (t == "Sequence") {
      if (!n.contains("normalizers") || !n["normalizers"].is_array()) invalid(file, where + ": \"normalizers\" must be a list");
      std::vector<NormalizerPtr> items;
      for (const json& x : n["normalizers"]) items.push_back(normalizer(x, out, false));
      return make_sequence_normalizer(std::move(items));
    }
    unsupported("normalizer", n, supported_components().normalizers);
  }

  PreTokenizerPtr pre_tokenizer(const json& p, ParsedTokenizerJson& out, bool top) const {
    const std::string t = type_of(p);
    const std::string where = "pre_tokenizer \"" + t + "\"";
    if (t == "BertPreTokenizer") {
      if (top) out.bert_pre_tokenizer = true;
      return make_bert_pre_tokenizer();
    }
    if (t == "ByteLevel") return make_byte_level_pre_tokenizer(get_bool(p, "add_prefix_space", true), get_bool(p, "use_regex", true));
    if (t == "Metaspace") {
      return make_metaspace_pre_tokenizer(utf8_of(get_char(p, "replacement", "\xE2\x96\x81", where)), prepend_scheme(p, where),
                                          get_bool(p, "split", true));
    }
    if (t == "Whitespace") return make_whitespace_pre_tokenizer();
    if (t == "WhitespaceSplit") return make_whitespace_split_pre_tokenizer();
    if (t == "Punctuation") return make_punctuation_pre_tokenizer(behavior(p, where, "Isolated"));
    if (t == "Digits") return make_digits_pre_tokenizer(get_bool(p, "individual_digits", false));
    if (t == "CharDelimiterSplit" || t == "Delimiter") return make_char_delimiter_pre_tokenizer(get_char(p, "delimiter", "", where));
    if (t == "Split") {
      if (!p.contains("behavior")) invalid(file, where + ": \"behavior\" is missing");
      return make_split_pre_tokenizer(pattern(p, where), behavior(p, where, "Isolated"), get_bool(p, "invert", false));
    }
    if (t == "Sequence") {
      if (!p.contains("pretokenizers") || !p["pretokenizers"].is_array()) invalid(file, where + ": \"pretokenizers\" must be a list");
      std::vector<PreTokenizerPtr> items;
      for (const json& x : p["pretokenizers"]) items.push_back(pre_tokenizer(x, out, false));
      return make_sequence_pre_tokenizer(std::move(items));
    }
    unsupported("pre_tokenizer", p, supported_components().pre_tokenizers);
  }

  std::pair<std::string, int64_t> token_pair(const json& p, const char* key, const std::string& where) const {
    if (!p.contains(key) || !p[key].is_array() || p[key].size() != 2 || !p[key][0].is_string() || !p[key][1].is_number_unsigned())
      invalid(file, where + ": \"" + key + "\" must be [token, id]");
    return {p[key][0].get<std::string>(), p[key][1].get<int64_t>()};
  }

  std::vector<TemplatePiece> template_pieces(const json& list, const char* key, const std::string& where) const {
    if (!list.is_array()) invalid(file, where + ": \"" + key + "\" must be a list of {\"Sequence\": ...} / {\"SpecialToken\": ...}");
    std::vector<TemplatePiece> out;
    for (const json& piece : list) {
      if (piece.is_object() && piece.contains("Sequence") && piece["Sequence"].is_object()) {
        const json& s = piece["Sequence"];
        const std::string id = get_string(s, "id", "A", where);
        if (id != "A" && id != "B") invalid(file, where + ": a Sequence piece's id must be \"A\" or \"B\"");
        out.push_back({true, id == "B", "", static_cast<uint32_t>(get_size(s, "type_id", 0, where))});
      } else if (piece.is_object() && piece.contains("SpecialToken") && piece["SpecialToken"].is_object()) {
        const json& s = piece["SpecialToken"];
        if (!s.contains("id") || !s["id"].is_string()) invalid(file, where + ": a SpecialToken piece needs a string \"id\"");
        out.push_back({false, false, s["id"].get<std::string>(), static_cast<uint32_t>(get_size(s, "type_id", 0, where))});
      } else {
        invalid(file, where + ": \"" + key + "\" must be a list of {\"Sequence\": ...} / {\"SpecialToken\": ...}");
      }
    }
    return out;
  }

  PostProcessorPtr post_processor(const json& p) const {
    const std::string t = type_of(p);
    const std::string where = "post_processor \"" + t + "\"";
    if (t == "BertProcessing") return make_bert_processing(token_pair(p, "sep", where), token_pair(p, "cls", where));
    if (t == "RobertaProcessing")
      return make_roberta_processing(token_pair(p, "sep", where), token_pair(p, "cls", where), get_bool(p, "trim_offsets", true),
                                     get_bool(p, "add_prefix_space", true));
    if (t == "ByteLevel") return make_byte_level_processing(get_bool(p, "trim_offsets", true), get_bool(p, "add_prefix_space", true));
    if (t == "TemplateProcessing") {
      std::vector<TemplatePiece> single = template_pieces(p.contains("single") ? p["single"] : json(), "single", where);
      std::vector<TemplatePiece> pair = template_pieces(p.contains("pair") ? p["pair"] : json(), "pair", where);
      std::map<std::string, SpecialTokenIds> specials;
      if (p.contains("special_tokens") && !p["special_tokens"].is_null()) {
        if (!p["special_tokens"].is_object()) invalid(file, where + ": \"special_tokens\" must be an object");
        for (auto it = p["special_tokens"].begin(); it != p["special_tokens"].end(); ++it) {
          const json& s = it.value();
          SpecialTokenIds st;
          st.id = get_string(s, "id", it.key(), where);
          if (!s.contains("ids") || !s["ids"].is_array()) invalid(file, where + ": special token \"" + it.key() + "\" needs \"ids\"");
          for (const json& id : s["ids"]) {
            if (!id.is_number_unsigned())
              invalid(file, where + ": special token \"" + it.key() + "\" has an id that is not a non-negative integer");
            st.ids.push_back(id.get<int64_t>());
          }
          if (s.contains("tokens") && s["tokens"].is_array())
            for (const json& tok : s["tokens"]) st.tokens.push_back(tok.is_string() ? tok.get<std::string>() : std::string());
          if (st.tokens.size() != st.ids.size())
            invalid(file, where + ": special token \"" + it.key() + "\" has different numbers of ids and tokens");
          specials.emplace(it.key(), std::move(st));
        }
      }
      bool b_in_single = false, a_in_pair = false, b_in_pair = false;
      for (const TemplatePiece& x : single) b_in_single = b_in_single || (x.is_sequence && x.sequence_b);
      for (const TemplatePiece& x : pair) {
        a_in_pair = a_in_pair || (x.is_sequence && !x.sequence_b);
        b_in_pair = b_in_pair || (x.is_sequence && x.sequence_b);
      }
      if (b_in_single) invalid(file, where + ": the single template uses sequence B");
      if (!a_in_pair || !b_in_pair) invalid(file, where + ": the pair template must use both sequences");
      for (const auto* tmpl : {&single, &pair})
        for (const TemplatePiece& x : *tmpl)
          if (!x.is_sequence && !specials.count(x.special))
            invalid(file, where + ": the template uses \"" + x.special + "\", which special_tokens does not define");
      return make_template_processing(std::move(single), std::move(pair), std::move(specials));
    }
    if (t == "Sequence") {
      if (!p.contains("processors") || !p["processors"].is_array()) invalid(file, where + ": \"processors\" must be a list");
      std::vector<PostProcessorPtr> items;
      for (const json& x : p["processors"]) items.push_back(post_processor(x));
      return make_sequence_processing(std::move(items));
    }
    unsupported("post_processor", p, supported_components().post_processors);
  }

  DecoderPtr decoder(const json& d) const {
    const std::string t = type_of(d);
    const std::string where = "decoder \"" + t + "\"";
    if (t == "WordPiece") return make_wordpiece_decoder(get_string(d, "prefix", "##", where), get_bool(d, "cleanup", true));
    if (t == "ByteLevel") return make_byte_level_decoder();
    if (t == "Metaspace")
      return make_metaspace_decoder(utf8_of(get_char(d, "replacement", "\xE2\x96\x81", where)), prepend_scheme(d, where));
    if (t == "BPEDecoder") return make_bpe_decoder(get_string(d, "suffix", "</w>", where));
    if (t == "Replace") return make_replace_decoder(pattern(d, where), get_string(d, "content", "", where));
    if (t == "ByteFallback") return make_byte_fallback_decoder();
    if (t == "Fuse") return make_fuse_decoder();
    if (t == "Strip")
      return make_strip_decoder(get_char(d, "content", " ", where), get_size(d, "start", 0, where), get_size(d, "stop", 0, where));
    if (t == "Sequence") {
      if (!d.contains("decoders") || !d["decoders"].is_array()) invalid(file, where + ": \"decoders\" must be a list");
      std::vector<DecoderPtr> items;
      for (const json& x : d["decoders"]) items.push_back(decoder(x));
      return make_sequence_decoder(std::move(items));
    }
    unsupported("decoder", d, supported_components().decoders);
  }

  ModelPtr model(const json& m, size_t added_count, ParsedTokenizerJson& out) const {
    std::string t = type_of(m);
    if (t.empty() && m.is_object()) {  // older files: recognised by their fields
      if (m.contains("merges"))
        t = "BPE";
      else if (m.contains("vocab") && m["vocab"].is_array())
        t = "Unigram";
      else if (m.contains("vocab"))
        t = "WordPiece";
    }
    const std::string where = "model \"" + t + "\"";
    if (t == "WordPiece") {
      if (!m.contains("vocab") || !m["vocab"].is_object() || m["vocab"].empty())
        invalid(file, where + ": \"vocab\" must be a non-empty object");
      const json& vocab = m["vocab"];
      size_t max_id = 0;
      for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        if (!it.value().is_number_unsigned()) invalid(file, "vocab entry \"" + it.key() + "\" has no non-negative integer id");
        max_id = std::max(max_id, it.value().get<size_t>());
      }
      const size_t limit = id_space_limit(vocab.size() + added_count);
      if (max_id >= limit)
        invalid(file, "vocab ids go up to " + std::to_string(max_id) + " with " + std::to_string(vocab.size()) +
                          " entries; ids must stay below " + std::to_string(limit) + " (2 x entries + 1024, at most 2^24)");
      std::vector<std::string> tokens(max_id + 1);
      for (auto it = vocab.begin(); it != vocab.end(); ++it) tokens[it.value().get<size_t>()] = it.key();
      WordPieceOptions o;
      o.unk_token = get_string(m, "unk_token", "[UNK]", where);
      o.continuing_subword_prefix = get_string(m, "continuing_subword_prefix", "##", where);
      o.max_input_chars_per_word = get_size(m, "max_input_chars_per_word", 100, where);
      out.wordpiece = true;
      out.max_input_chars_per_word = o.max_input_chars_per_word;
      return make_wordpiece_model(std::move(tokens), o, file);
    }
    if (t == "BPE") {
      if (m.contains("dropout") && !m["dropout"].is_null()) {
        if (!m["dropout"].is_number()) invalid(file, where + ": \"dropout\" must be a number");
        const double d = m["dropout"].get<double>();
        if (d != 0.0)
          invalid(file, where + " has dropout " + std::to_string(d) +
                            ": BPE dropout samples a different tokenization each time, for training; serving needs it null or 0");
      }
      if (!m.contains("vocab") || !m["vocab"].is_object()) invalid(file, where + ": \"vocab\" must be an object");
      const json& vj = m["vocab"];
      std::vector<std::pair<std::string, uint32_t>> vocab;
      vocab.reserve(vj.size());
      const size_t limit = id_space_limit(vj.size() + added_count);
      for (auto it = vj.begin(); it != vj.end(); ++it) {
        if (!it.value().is_number_unsigned()) invalid(file, "vocab entry \"" + it.key() + "\" has no non-negative integer id");
        const size_t id = it.value().get<size_t>();
        if (id >= limit)
          invalid(file, "vocab ids go up to " + std::to_string(id) + " with " + std::to_string(vj.size()) +
                            " entries; ids must stay below " + std::to_string(limit) + " (2 x entries + 1024, at most 2^24)");
        vocab.emplace_back(it.key(), static_cast<uint32_t>(id));
      }
      std::vector<std::pair<std::string, std::string>> merges;
      if (m.contains("merges") && !m["merges"].is_null()) {
        if (!m["merges"].is_array()) invalid(file, where + ": \"merges\" must be a list");
        size_t rank = 0;
        for (const json& x : m["merges"]) {
          ++rank;
          if (x.is_string()) {
            const std::string s = x.get<std::string>();
            if (s.rfind("#version", 0) == 0) continue;
            const size_t sp = s.find(' ');
            if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
              invalid(file, where + ": merge " + std::to_string(rank) + " (\"" + s + "\") is not two tokens separated by one space");
            merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
          } else if (x.is_array() && x.size() == 2 && x[0].is_string() && x[1].is_string()) {
            merges.emplace_back(x[0].get<std::string>(), x[1].get<std::string>());
          } else {
            invalid(file, where + ": merge " + std::to_string(rank) + " must be \"a b\" or [\"a\", \"b\"]");
          }
        }
      }
      BpeOptions o;
      if (m.contains("unk_token") && m["unk_token"].is_string()) o.unk_token = m["unk_token"].get<std::string>();
      if (m.contains("continuing_subword_prefix") && m["continuing_subword_prefix"].is_string())
        o.continuing_subword_prefix = m["continuing_subword_prefix"].get<std::string>();
      if (m.contains("end_of_word_suffix") && m["end_of_word_suffix"].is_string())
        o.end_of_word_suffix = m["end_of_word_suffix"].get<std::string>();
      o.fuse_unk = get_bool(m, "fuse_unk", false);
      o.byte_fallback = get_bool(m, "byte_fallback", false);
      o.ignore_merges = get_bool(m, "ignore_merges", false);
      return make_bpe_model(std::move(vocab), std::move(merges), o, file);
    }
    if (t == "Unigram") {
      if (!m.contains("vocab") || !m["vocab"].is_array()) invalid(file, where + ": \"vocab\" must be a list of [piece, score]");
      std::vector<std::pair<std::string, double>> vocab;
      vocab.reserve(m["vocab"].size());
      for (const json& x : m["vocab"]) {
        if (!x.is_array() || x.size() != 2 || !x[0].is_string() || !x[1].is_number())
          invalid(file, where + ": vocabulary entry " + std::to_string(vocab.size()) + " is not [piece, score]");
        vocab.emplace_back(x[0].get<std::string>(), x[1].get<double>());
      }
      UnigramOptions o;
      if (m.contains("unk_id") && !m["unk_id"].is_null()) {
        if (!m["unk_id"].is_number_unsigned()) invalid(file, where + ": \"unk_id\" must be a non-negative integer");
        o.unk_id = m["unk_id"].get<size_t>();
      }
      o.byte_fallback = get_bool(m, "byte_fallback", false);
      return make_unigram_model(std::move(vocab), o, file);
    }
    unsupported("model", m, supported_components().models);
  }

  static std::string utf8_of(char32_t c) {
    std::string s;
    unicode::append_utf8(s, c);
    return s;
  }

  static bool base64_decode(const std::string& in, std::string& out) {
    auto value = [](char c) -> int {
      if (c >= 'A' && c <= 'Z') return c - 'A';
      if (c >= 'a' && c <= 'z') return c - 'a' + 26;
      if (c >= '0' && c <= '9') return c - '0' + 52;
      if (c == '+') return 62;
      if (c == '/') return 63;
      return -1;
    };
    out.clear();
    uint32_t acc = 0;
    int bits = 0;
    size_t i = 0;
    for (; i < in.size() && in[i] != '='; ++i) {
      const int v = value(in[i]);
      if (v < 0) return false;
      acc = (acc << 6) | static_cast<uint32_t>(v);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out.push_back(static_cast<char>((acc >> bits) & 0xFF));
      }
    }
    for (; i < in.size(); ++i)
      if (in[i] != '=') return false;
    return in.size() % 4 == 0;
  }
};

}  // namespace

const SupportedComponents& supported_components() {
  static const SupportedComponents s{
      {"BertNormalizer", "NFC", "NFD", "NFKC", "NFKD", "Lowercase", "Strip", "StripAccents", "Replace", "Prepend", "Precompiled", "Nmt",
       "ByteLevel", "Sequence"},
      {"BertPreTokenizer", "ByteLevel", "Metaspace", "Whitespace", "WhitespaceSplit", "Punctuation", "Split", "Digits",
       "CharDelimiterSplit", "Sequence"},
      {"WordPiece", "BPE", "Unigram"},
      {"BertProcessing", "RobertaProcessing", "TemplateProcessing", "ByteLevel", "Sequence"},
      {"WordPiece", "ByteLevel", "Metaspace", "BPEDecoder", "Replace", "ByteFallback", "Fuse", "Strip", "Sequence"},
  };
  return s;
}

ParsedTokenizerJson parse_tokenizer_json(const std::string& name, const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    invalid(name, std::string("is not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object()) invalid(name, "expected a JSON object (a Hugging Face tokenizer.json)");
  const Reader r{name};
  if (j.contains("version") && j["version"].is_string() && j["version"].get<std::string>() != "1.0")
    invalid(name, "tokenizer.json version \"" + j["version"].get<std::string>() + "\" is not supported (expected \"1.0\")");
  ParsedTokenizerJson out;
  if (j.contains("added_tokens") && !j["added_tokens"].is_null()) {
    if (!j["added_tokens"].is_array()) invalid(name, "\"added_tokens\" must be an array");
    for (const json& t : j["added_tokens"]) {
      if (!t.is_object() || !t.contains("content") || !t["content"].is_string()) invalid(name, "an added token needs a string \"content\"");
      AddedTokenSpec a;
      a.content = t["content"].get<std::string>();
      if (unicode::find_invalid_utf8(a.content) != std::string_view::npos) invalid(name, "an added token is not valid UTF-8");
      a.special = r.get_bool(t, "special", false);
      a.normalized = r.get_bool(t, "normalized", !a.special);
      a.single_word = r.get_bool(t, "single_word", false);
      a.lstrip = r.get_bool(t, "lstrip", false);
      a.rstrip = r.get_bool(t, "rstrip", false);
      out.added.push_back(std::move(a));
    }
  }
  if (!j.contains("model") || !j["model"].is_object()) invalid(name, "has no \"model\" object");
  out.parts.model = r.model(j["model"], out.added.size(), out);
  if (j.contains("normalizer") && !j["normalizer"].is_null()) out.parts.normalizer = r.normalizer(j["normalizer"], out, true);
  if (j.contains("pre_tokenizer") && !j["pre_tokenizer"].is_null())
    out.parts.pre_tokenizer = r.pre_tokenizer(j["pre_tokenizer"], out, true);
  if (j.contains("post_processor") && !j["post_processor"].is_null()) out.parts.post_processor = r.post_processor(j["post_processor"]);
  if (j.contains("decoder") && !j["decoder"].is_null()) out.parts.decoder = r.decoder(j["decoder"]);
  return out;
}

}  // namespace bert
