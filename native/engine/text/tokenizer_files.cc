#include "engine/text/tokenizer_files.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/errors.h"
#include "engine/text/unicode.h"

namespace bert {

namespace {

using json = nlohmann::json;

[[noreturn]] void invalid(const std::string& file, const std::string& what) {
  throw EngineError(ErrorCode::kTokenizerInvalid, file + ": " + what);
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

// A boolean field: absent/null keeps `fallback`; any other non-boolean is an error.
bool get_bool(const json& obj, const char* key, bool fallback, const std::string& file) {
  if (!obj.contains(key) || obj[key].is_null()) return fallback;
  if (!obj[key].is_boolean()) invalid(file, std::string("\"") + key + "\" must be true or false");
  return obj[key].get<bool>();
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

void read_special_names(const json& obj, TokenizerConfig& c, std::vector<std::string>* named) {
  const std::pair<const char*, std::string*> roles[] = {
      {"unk_token", &c.unk_token},   {"cls_token", &c.cls_token}, {"sep_token", &c.sep_token}, {"pad_token", &c.pad_token},
      {"mask_token", &c.mask_token}, {"bos_token", &c.bos_token}, {"eos_token", &c.eos_token}};
  for (const auto& [key, field] : roles)
    if (special_token_name(obj, key, field) && named) named->push_back(key);
}

// model_max_length: transformers writes int(1e30) for "no limit"; keep that as a large bound rather
// than overflowing a size_t.
void read_model_max_length(const json& obj, TokenizerConfig& c) {
  if (!obj.contains("model_max_length") || !obj["model_max_length"].is_number()) return;
  const double v = obj["model_max_length"].get<double>();
  if (v >= 1) c.model_max_length = v > 1e9 ? static_cast<size_t>(1) << 30 : static_cast<size_t>(v);
}

}  // namespace

std::vector<std::string> parse_vocab_txt(const TokenizerFile& f) {
  const std::string& text = f.text;
  // transformers reads vocab.txt as UTF-8 and fails on anything else; the tokenizer's code relies on
  // valid UTF-8 throughout (tokenizer_files_fuzz found a line of 0xFF bytes read past its end).
  if (const size_t bad = unicode::find_invalid_utf8(text); bad != std::string_view::npos)
    invalid(f.name, "line " + std::to_string(1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(bad), '\n')) +
                        " is not valid UTF-8 (byte " + std::to_string(bad) + ")");
  std::vector<std::string> vocab;
  vocab.reserve(text.size() / 7);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    size_t stop = end;
    while (stop > pos &&
           (text[stop - 1] == ' ' || text[stop - 1] == '\t' || text[stop - 1] == '\r' || text[stop - 1] == '\v' || text[stop - 1] == '\f'))
      --stop;
    vocab.emplace_back(text, pos, stop - pos);
    pos = end + 1;
  }
  if (vocab.empty()) invalid(f.name, "is empty; expected a WordPiece vocabulary with one token per line");
  return vocab;
}

void read_tokenizer_config(const TokenizerSources& s, TokenizerConfig& c, bool bert_settings, std::vector<std::string>* named) {
  if (s.tokenizer_config) {
    const std::string& config_path = s.tokenizer_config->name;
    const json cfg = parse_json(*s.tokenizer_config);
    if (!cfg.is_object()) invalid(config_path, "expected a JSON object");
    if (bert_settings) {
      c.lowercase = get_bool(cfg, "do_lower_case", true, config_path);
      // strip_accents: null/absent follows do_lower_case (Hugging Face's rule).
      c.strip_accents = get_bool(cfg, "strip_accents", c.lowercase, config_path);
      c.handle_chinese_chars = get_bool(cfg, "tokenize_chinese_chars", true, config_path);
    }
    if (cfg.contains("clean_up_tokenization_spaces") && cfg["clean_up_tokenization_spaces"].is_boolean())
      c.clean_up_tokenization_spaces = cfg["clean_up_tokenization_spaces"].get<bool>();
    read_model_max_length(cfg, c);
    read_special_names(cfg, c, named);
  }
  if (s.special_tokens_map) {
    const json m = parse_json(*s.special_tokens_map);
    if (m.is_object()) read_special_names(m, c, named);
  }
}

TokenizerSources read_tokenizer_sources(const std::string& path) {
  if (path.empty()) throw EngineError(ErrorCode::kModelNotFound, "tokenizer path is empty");
  if (!exists(path))
    throw EngineError(ErrorCode::kModelNotFound,
                      path + ": no such file or directory (expected tokenizer.json, vocab.txt or a model directory)");
  std::string main;
  if (is_directory(path)) {
    if (exists(join(path, "tokenizer.json")))
      main = join(path, "tokenizer.json");
    else if (exists(join(path, "vocab.txt")))
      main = join(path, "vocab.txt");
    else
      throw EngineError(ErrorCode::kModelNotFound, path + ": the directory has neither tokenizer.json nor vocab.txt");
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
  return s;
}

}  // namespace bert
