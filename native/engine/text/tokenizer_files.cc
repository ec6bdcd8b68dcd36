#include "engine/text/tokenizer_files.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/errors.h"

namespace bert {

namespace {

using json = nlohmann::json;

[[noreturn]] void invalid(const std::string& file, const std::string& what) {
  throw EngineError(ErrorCode::kTokenizerInvalid, file + ": " + what);
}

// The highest token id (exclusive) a tokenizer with `entries` tokens may use: holes in the id space
// are allowed, but at most as many as there are tokens (plus some room for tiny vocabularies).
size_t id_space_limit(size_t entries) {
  return std::min<size_t>(size_t{1} << 24, 2 * entries + 1024);
}

size_t added_token_count(const json& j) {
  const auto it = j.find("added_tokens");
  return it != j.end() && it->is_array() ? it->size() : 0;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string dirname_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string basename_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string join(const std::string& dir, const std::string& name) {
  return dir.empty() || dir.back() == '/' ? dir + name : dir + "/" + name;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) invalid(path, "cannot be read");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) invalid(path, "cannot be read");
  return ss.str();
}

json parse_json(const TokenizerFile& f) {
  try {
    return json::parse(f.text);
  } catch (const json::exception& e) {
    invalid(f.name, std::string("is not valid JSON (") + e.what() + ")");
  }
}

std::string type_name(const json& j) {
  if (j.is_null()) return "null";
  if (j.is_object() && j.contains("type") && j["type"].is_string()) return "\"" + j["type"].get<std::string>() + "\"";
  return std::string(j.type_name());
}

// A boolean field: absent/null keeps `fallback`; any other non-boolean is an error.
bool get_bool(const json& obj, const char* key, bool fallback, const std::string& file) {
  if (!obj.contains(key) || obj[key].is_null()) return fallback;
  if (!obj[key].is_boolean()) invalid(file, std::string("\"") + key + "\" must be true or false");
  return obj[key].get<bool>();
}

// vocab.txt: one token per line, line number = id. Like Hugging Face's reader, trailing whitespace
// (including a CR of CRLF files) is trimmed from each line.
std::vector<std::string> parse_vocab_txt(const TokenizerFile& f) {
  const std::string& text = f.text;
  std::vector<std::string> vocab;
  vocab.reserve(text.size() / 7);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    size_t stop = end;
    while (stop > pos && (text[stop - 1] == ' ' || text[stop - 1] == '\t' || text[stop - 1] == '\r' ||
                          text[stop - 1] == '\v' || text[stop - 1] == '\f'))
      --stop;
    vocab.emplace_back(text, pos, stop - pos);
    pos = end + 1;
  }
  if (vocab.empty()) invalid(f.name, "is empty; expected a WordPiece vocabulary with one token per line");
  return vocab;
}

// A special token in tokenizer_config.json / special_tokens_map.json is a string, or an AddedToken
// object {"content": ..., ...}.
bool special_token_name(const json& obj, const char* key, std::string* out) {
  if (!obj.contains(key)) return false;
  const json& v = obj[key];
  if (v.is_string()) {
    *out = v.get<std::string>();
    return true;
  }
  if (v.is_object() && v.contains("content") && v["content"].is_string()) {
    *out = v["content"].get<std::string>();
    return true;
  }
  return false;
}

void read_special_names(const json& obj, TokenizerConfig& c) {
  special_token_name(obj, "unk_token", &c.unk_token);
  special_token_name(obj, "cls_token", &c.cls_token);
  special_token_name(obj, "sep_token", &c.sep_token);
  special_token_name(obj, "pad_token", &c.pad_token);
  special_token_name(obj, "mask_token", &c.mask_token);
}

// model_max_length: transformers writes int(1e30) for "no limit"; keep that as a large bound rather
// than overflowing a size_t.
void read_model_max_length(const json& obj, TokenizerConfig& c) {
  if (!obj.contains("model_max_length") || !obj["model_max_length"].is_number()) return;
  const double v = obj["model_max_length"].get<double>();
  if (v >= 1) c.model_max_length = v > 1e9 ? static_cast<size_t>(1) << 30 : static_cast<size_t>(v);
}

// tokenizer_config.json (and special_tokens_map.json) beside a vocab.txt / tokenizer.json.
// `full`: the file also decides the normalizer (vocab.txt); for tokenizer.json only names and
// model_max_length are taken from it (the normalizer section of tokenizer.json wins).
void read_config_beside(const TokenizerSources& s, TokenizerConfig& c, bool full) {
  if (s.tokenizer_config) {
    const std::string& config_path = s.tokenizer_config->name;
    const json cfg = parse_json(*s.tokenizer_config);
    if (!cfg.is_object()) invalid(config_path, "expected a JSON object");
    if (full) {
      c.lowercase = get_bool(cfg, "do_lower_case", true, config_path);
      // strip_accents: null/absent follows do_lower_case (Hugging Face's rule).
      c.strip_accents = get_bool(cfg, "strip_accents", c.lowercase, config_path);
      c.handle_chinese_chars = get_bool(cfg, "tokenize_chinese_chars", true, config_path);
    }
    read_model_max_length(cfg, c);
    read_special_names(cfg, c);
  }
  if (s.special_tokens_map) {
    const json m = parse_json(*s.special_tokens_map);
    if (m.is_object()) read_special_names(m, c);
  }
}

TokenizerSpec parse_vocab_dir(const TokenizerSources& s) {
  TokenizerSpec spec;
  spec.source = s.main.name;
  spec.vocab = parse_vocab_txt(s.main);
  read_config_beside(s, spec.config, /*full=*/true);
  spec.added = role_special_tokens(spec.vocab, spec.config);
  return spec;
}

void read_normalizer(const json& n, TokenizerConfig& c, const std::string& file) {
  if (!n.is_object() || type_name(n) != "\"BertNormalizer\"")
    invalid(file, "unsupported normalizer " + type_name(n) + "; expected \"BertNormalizer\" (a BERT WordPiece tokenizer)");
  c.clean_text = get_bool(n, "clean_text", true, file);
  c.handle_chinese_chars = get_bool(n, "handle_chinese_chars", true, file);
  c.lowercase = get_bool(n, "lowercase", true, file);
  c.strip_accents = get_bool(n, "strip_accents", c.lowercase, file);
}

// The [CLS]/[SEP] names from the post-processor (TemplateProcessing or BertProcessing).
void read_post_processor(const json& p, TokenizerConfig& c, const std::string& file) {
  if (p.is_null()) return;
  const std::string type = type_name(p);
  if (type == "\"BertProcessing\"") {
    if (p.contains("cls") && p["cls"].is_array() && !p["cls"].empty() && p["cls"][0].is_string())
      c.cls_token = p["cls"][0].get<std::string>();
    if (p.contains("sep") && p["sep"].is_array() && !p["sep"].empty() && p["sep"][0].is_string())
      c.sep_token = p["sep"][0].get<std::string>();
    return;
  }
  if (type == "\"TemplateProcessing\"") {
    if (!p.contains("single") || !p["single"].is_array()) invalid(file, "TemplateProcessing without a \"single\" template");
    std::vector<std::string> specials;
    bool sequence_seen = false, shape_ok = true;
    for (const json& piece : p["single"]) {
      if (piece.contains("SpecialToken") && piece["SpecialToken"].contains("id") && piece["SpecialToken"]["id"].is_string()) {
        specials.push_back(piece["SpecialToken"]["id"].get<std::string>());
        if (sequence_seen != (specials.size() == 2)) shape_ok = false;
      } else if (piece.contains("Sequence")) {
        if (sequence_seen) shape_ok = false;
        sequence_seen = true;
      } else {
        shape_ok = false;
      }
    }
    if (!shape_ok || specials.size() != 2 || !sequence_seen)
      invalid(file, "unsupported post_processor template; expected \"[CLS] $A [SEP]\"");
    c.cls_token = specials[0];
    c.sep_token = specials[1];
    return;
  }
  invalid(file, "unsupported post_processor " + type + "; expected \"TemplateProcessing\" or \"BertProcessing\"");
}

TokenizerSpec parse_tokenizer_json(const TokenizerSources& s) {
  const std::string& path = s.main.name;
  const json j = parse_json(s.main);
  if (!j.is_object()) invalid(path, "expected a JSON object (a Hugging Face tokenizer.json)");
  TokenizerSpec spec;
  spec.source = path;
  TokenizerConfig& c = spec.config;

  if (!j.contains("model") || !j["model"].is_object()) invalid(path, "has no \"model\" object");
  const json& model = j["model"];
  // Older files omit the model type; a WordPiece model is then recognised by its fields.
  const bool wordpiece = model.contains("type") ? model["type"] == "WordPiece"
                                                : model.contains("continuing_subword_prefix") && model.contains("vocab");
  if (!wordpiece) invalid(path, "unsupported model " + type_name(model) + "; expected \"WordPiece\"");
  if (!model.contains("vocab") || !model["vocab"].is_object() || model["vocab"].empty())
    invalid(path, "the WordPiece model has no \"vocab\" object");
  if (model.contains("unk_token") && model["unk_token"].is_string()) c.unk_token = model["unk_token"].get<std::string>();
  if (model.contains("continuing_subword_prefix") && model["continuing_subword_prefix"].is_string())
    c.continuing_prefix = model["continuing_subword_prefix"].get<std::string>();
  if (model.contains("max_input_chars_per_word") && model["max_input_chars_per_word"].is_number_unsigned())
    c.max_input_chars_per_word = model["max_input_chars_per_word"].get<size_t>();

  const json& vocab = model["vocab"];
  size_t max_id = 0;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_unsigned()) invalid(path, "vocab entry \"" + it.key() + "\" has no non-negative integer id");
    max_id = std::max(max_id, it.value().get<size_t>());
  }
  // Ids index a table with a slot per id, holes included: bounded by the entries there are, so a
  // small file cannot make the loader allocate and scan millions of empty slots (a 709-byte
  // tokenizer.json with one id of 9,184,415 took 2 s; found by tokenizer_files_fuzz).
  const size_t id_limit = id_space_limit(vocab.size() + added_token_count(j));
  if (max_id >= id_limit)
    invalid(path, "vocab ids go up to " + std::to_string(max_id) + " with " + std::to_string(vocab.size()) +
                      " entries; ids must stay below " + std::to_string(id_limit) + " (2 x entries + 1024, at most 2^24)");
  spec.vocab.assign(max_id + 1, std::string());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) spec.vocab[it.value().get<size_t>()] = it.key();

  read_normalizer(j.contains("normalizer") ? j["normalizer"] : json(), c, path);
  const json pre = j.contains("pre_tokenizer") ? j["pre_tokenizer"] : json();
  if (!pre.is_object() || type_name(pre) != "\"BertPreTokenizer\"")
    invalid(path, "unsupported pre_tokenizer " + type_name(pre) + "; expected \"BertPreTokenizer\"");
  if (j.contains("decoder") && j["decoder"].is_object()) {
    const json& d = j["decoder"];
    if (d.contains("type") && d["type"] != "WordPiece")
      invalid(path, "unsupported decoder " + type_name(d) + "; expected \"WordPiece\"");
    c.decoder_cleanup = get_bool(d, "cleanup", true, path);
  }
  // Names of [CLS]/[SEP] (post-processor) and of [PAD]/[MASK] (tokenizer_config.json beside, if any).
  read_config_beside(s, c, /*full=*/false);
  read_post_processor(j.contains("post_processor") ? j["post_processor"] : json(), c, path);

  if (j.contains("added_tokens") && !j["added_tokens"].is_null()) {
    if (!j["added_tokens"].is_array()) invalid(path, "\"added_tokens\" must be an array");
    for (const json& t : j["added_tokens"]) {
      if (!t.is_object() || !t.contains("content") || !t["content"].is_string() || !t.contains("id") ||
          !t["id"].is_number_unsigned())
        invalid(path, "an added token needs a string \"content\" and a non-negative integer \"id\"");
      AddedTokenSpec a;
      a.content = t["content"].get<std::string>();
      // Checked as unsigned: an id of 2^63 or more would turn negative as int64_t.
      const uint64_t id = t["id"].get<uint64_t>();
      if (id >= id_limit) invalid(path, "added token \"" + a.content + "\" has id " + std::to_string(id) + "; ids must stay below " + std::to_string(id_limit) + " (2 x entries + 1024, at most 2^24)");
      a.id = static_cast<int64_t>(id);
      if (a.content.empty()) invalid(path, "an added token has empty content");
      a.special = get_bool(t, "special", false, path);
      a.lstrip = get_bool(t, "lstrip", false, path);
      a.rstrip = get_bool(t, "rstrip", false, path);
      // Tokens matched AFTER normalization, or only as whole words, are not implemented: refuse them
      // rather than tokenize differently from Hugging Face.
      if (get_bool(t, "normalized", !a.special, path))
        invalid(path, "added token \"" + a.content + "\" has normalized=true; only tokens matched in the raw text (normalized=false) are supported");
      if (get_bool(t, "single_word", false, path))
        invalid(path, "added token \"" + a.content + "\" has single_word=true; this is not supported");
      spec.added.push_back(std::move(a));
    }
  }
  return spec;
}

}  // namespace

std::vector<AddedTokenSpec> role_special_tokens(const std::vector<std::string>& vocab, const TokenizerConfig& config) {
  std::vector<AddedTokenSpec> out;
  for (const std::string* name : {&config.pad_token, &config.unk_token, &config.cls_token, &config.sep_token, &config.mask_token}) {
    if (name->empty()) continue;
    // The last line wins for duplicates, as in the vocabulary table.
    for (size_t id = vocab.size(); id-- > 0;) {
      if (vocab[id] == *name) {
        AddedTokenSpec a;
        a.content = *name;
        a.id = static_cast<int64_t>(id);
        out.push_back(std::move(a));
        break;
      }
    }
  }
  return out;
}

TokenizerSpec parse_tokenizer_files(const TokenizerSources& sources) {
  return sources.tokenizer_json ? parse_tokenizer_json(sources) : parse_vocab_dir(sources);
}

TokenizerSpec read_tokenizer_files(const std::string& path) {
  if (path.empty()) throw EngineError(ErrorCode::kModelNotFound, "tokenizer path is empty");
  if (!exists(path)) throw EngineError(ErrorCode::kModelNotFound, path + ": no such file or directory (expected vocab.txt, tokenizer.json or a model directory)");
  std::string main;
  if (is_directory(path)) {
    if (exists(join(path, "tokenizer.json"))) main = join(path, "tokenizer.json");
    else if (exists(join(path, "vocab.txt"))) main = join(path, "vocab.txt");
    else throw EngineError(ErrorCode::kModelNotFound, path + ": the directory has neither tokenizer.json nor vocab.txt");
  } else {
    main = path;
  }
  const std::string base = basename_of(main);
  TokenizerSources s;
  s.tokenizer_json = base.size() >= 5 && base.compare(base.size() - 5, 5, ".json") == 0;
  s.main = TokenizerFile{main, read_file(main)};
  const std::string dir = dirname_of(main);
  if (const std::string p = join(dir, "tokenizer_config.json"); exists(p)) s.tokenizer_config = TokenizerFile{p, read_file(p)};
  if (const std::string p = join(dir, "special_tokens_map.json"); exists(p)) s.special_tokens_map = TokenizerFile{p, read_file(p)};
  return parse_tokenizer_files(s);
}

}  // namespace bert
