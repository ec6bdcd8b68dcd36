// Tokenizer tests: the Hugging Face golden vectors, offsets, truncation, decode, the equivalence of
// the vocab.txt and tokenizer.json loaders, and error cases. Shared data (../shared/data from the
// repo root, the ctest working directory) is found through BERT_SERVE_SHARED_DATA.
#include "engine/text/tokenizer.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "check.h"
#include "engine/errors.h"
#include "engine/text/unicode.h"
#include "engine/text/unicode_tables.h"

using bert::Encoding;
using bert::ErrorCode;
using bert::Tokenizer;
using json = nlohmann::json;

namespace {

std::string shared_data(const std::string& name) {
  const char* env = std::getenv("BERT_SERVE_SHARED_DATA");
  return std::string(env && *env ? env : "../shared/data") + "/" + name;
}

std::string uncased_vocab() { return shared_data("bert-base-uncased-vocab.txt"); }
std::string uncased_json() { return shared_data("bert-base-uncased-tokenizer.json"); }

std::shared_ptr<const Tokenizer> uncased() {
  static auto t = Tokenizer::load(uncased_vocab());
  return t;
}

// A scratch directory under /tmp, removed at exit by the test that made it.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/bert-tok-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string write(const std::string& name, const std::string& content) const {
    const std::string p = path + "/" + name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
};

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> tokens_of(const Tokenizer& t, const Encoding& e) {
  std::vector<std::string> out;
  for (auto id : e.ids) out.push_back(t.id_to_token(id));
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

template <class Fn>
ErrorCode error_code_of(Fn&& fn, std::string* message = nullptr) {
  try {
    fn();
  } catch (const bert::EngineError& e) {
    if (message) *message = e.what();
    return e.code();
  }
  return ErrorCode::kInternal;  // "no error" marker for the tests
}

// UTF-16 length of a UTF-8 string (test-side, independent of the tokenizer's counting).
uint32_t utf16_len(const std::string& s) {
  uint32_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80) n += c >= 0xF0 ? 2 : 1;
  }
  return n;
}

}  // namespace

TEST_CASE(golden_hf_vectors_match_every_line) {
  std::ifstream in(shared_data("wordpiece-golden-uncased-hf.jsonl"));
  CHECK(in.good());
  auto tok = uncased();
  std::string line;
  int lines = 0, bad = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ++lines;
    const json j = json::parse(line);
    const std::string text = j["text"];
    const auto expected_ids = j["ids"].get<std::vector<int64_t>>();
    const auto expected_tokens = j["tokens"].get<std::vector<std::string>>();
    const Encoding e = tok->encode(text, false, 0);
    if (e.ids != expected_ids || tokens_of(*tok, e) != expected_tokens) {
      if (++bad <= 10)
        std::fprintf(stderr, "  line %d: %s\n    expected: %s\n    got:      %s\n", lines, line.substr(0, 200).c_str(),
                     join(expected_tokens).c_str(), join(tokens_of(*tok, e)).c_str());
    }
  }
  CHECK_EQ(lines, 483);
  CHECK_EQ(bad, 0);
}

TEST_CASE(special_tokens_in_text_stay_whole) {
  auto tok = uncased();
  CHECK_EQ(join(tokens_of(*tok, tok->encode("I [MASK] you", false))), std::string("i [MASK] you"));
  CHECK_EQ(join(tokens_of(*tok, tok->encode("[MASK][MASK]", false))), std::string("[MASK] [MASK]"));
  CHECK_EQ(join(tokens_of(*tok, tok->encode("a[MASK]b", false))), std::string("a [MASK] b"));
  CHECK_EQ(join(tokens_of(*tok, tok->encode("[mask]", false))), std::string("[ mask ]"));  // case-sensitive
  const Encoding e = tok->encode("I [MASK] you");
  CHECK_EQ(e.ids.size(), size_t(5));
  CHECK_EQ(e.ids[0], int64_t(101));
  CHECK_EQ(e.ids[2], int64_t(103));
  CHECK_EQ(e.ids[4], int64_t(102));
  CHECK(e.offsets[2] == std::make_pair(2u, 8u));
}

TEST_CASE(offsets_are_utf16_indices_into_the_original) {
  auto tok = uncased();
  // "😀" is two UTF-16 units; "é" is one; U+200B is dropped but still occupies an index.
  const std::string text =
      "\xF0\x9F\x98\x80 H\xC3\xA9llo, a\xE2\x80\x8B"
      "b [MASK]";
  const Encoding e = tok->encode(text);
  CHECK_EQ(join(tokens_of(*tok, e)), std::string("[CLS] [UNK] hello , ab [MASK] [SEP]"));
  const std::vector<std::pair<uint32_t, uint32_t>> expected = {{0, 0}, {0, 2}, {3, 8}, {8, 9}, {10, 13}, {14, 20}, {0, 0}};
  CHECK(e.offsets == expected);
  // Sanity on a mixed text: offsets are ordered, within the text, non-empty for real tokens.
  const std::string mixed = "Ünïcödé 中文 ΟΔΟΣ naïve café — test!! \xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD done [SEP]";
  const Encoding m = tok->encode(mixed);
  const uint32_t len16 = utf16_len(mixed);
  uint32_t last_end = 0;
  for (size_t i = 1; i + 1 < m.size(); ++i) {
    CHECK(m.offsets[i].first < m.offsets[i].second);
    CHECK(m.offsets[i].second <= len16);
    CHECK(m.offsets[i].first >= last_end || m.offsets[i].first + 1 >= last_end);
    last_end = m.offsets[i].second;
  }
  CHECK(m.offsets.front() == std::make_pair(0u, 0u));
  CHECK(m.offsets.back() == std::make_pair(0u, 0u));
  // Word pieces of one word split the word's range.
  const Encoding w = tok->encode("unaffable", false);
  CHECK_EQ(join(tokens_of(*tok, w)), std::string("una ##ffa ##ble"));
  CHECK(w.offsets[0] == std::make_pair(0u, 3u));
  CHECK(w.offsets[1] == std::make_pair(3u, 6u));
  CHECK(w.offsets[2] == std::make_pair(6u, 9u));
  // A decomposed accent is dropped: the token does not cover the combining mark.
  const Encoding d = tok->encode("e\xCC\x81x", false);
  CHECK(d.offsets[0] == std::make_pair(0u, 3u));
}

TEST_CASE(nfd_reordering_moves_ranges_like_hugging_face) {
  auto tok = uncased();
  // U+0341 (-> U+0301, class 230) before U+302F (class 224, category Mc): NFD swaps them, and the
  // kept U+302F takes the first input range (expected values from the npm tokenizers oracle).
  const Encoding a = tok->encode("\xE3\x80\x8D\xCD\x81\xE3\x80\xAF\xCC\x93x", false);  // 」 U+0341 U+302F U+0313 x
  CHECK(a.ids == std::vector<int64_t>({1642, 100}));
  CHECK(a.offsets[1] == std::make_pair(1u, 5u));
  const Encoding b = tok->encode("\xE3\x80\x85\xE3\x80\xAF\xCC\xB3\xE3\x80\x91", false);  // 々 U+302F U+0333 】
  CHECK(b.ids == std::vector<int64_t>({100, 100}));
  CHECK(b.offsets[0] == std::make_pair(0u, 3u));
  CHECK(b.offsets[1] == std::make_pair(3u, 4u));
}

TEST_CASE(long_words_and_unknowns) {
  auto tok = uncased();
  const std::string w100(100, 'a'), w101(101, 'a');
  CHECK(tok->encode(w100, false).ids[0] != tok->unk_id());
  const Encoding e = tok->encode("x " + w101 + " y", false);
  CHECK_EQ(e.ids.size(), size_t(3));
  CHECK_EQ(e.ids[1], tok->unk_id());
  CHECK(e.offsets[1] == std::make_pair(2u, 103u));
  const Encoding u = tok->encode("\xE2\x98\x83\xE2\x98\x83", false);  // two snowmen: one unmatched word
  CHECK_EQ(u.ids.size(), size_t(1));
  CHECK_EQ(u.ids[0], tok->unk_id());
}

TEST_CASE(truncation_keeps_cls_and_sep) {
  auto tok = uncased();
  const std::string text = "the quick brown fox jumps over the lazy dog";
  const Encoding full = tok->encode(text);
  CHECK_EQ(full.size(), size_t(11));
  CHECK(!full.truncated);
  const Encoding t = tok->encode(text, true, 5);
  CHECK_EQ(t.size(), size_t(5));
  CHECK(t.truncated);
  CHECK_EQ(t.ids.front(), tok->cls_id());
  CHECK_EQ(t.ids.back(), tok->sep_id());
  CHECK(std::vector<int64_t>(t.ids.begin(), t.ids.end() - 1) == std::vector<int64_t>(full.ids.begin(), full.ids.begin() + 4));
  const Encoding exact = tok->encode(text, true, 11);
  CHECK(!exact.truncated);
  CHECK(exact.ids == full.ids);
  const Encoding nospecial = tok->encode(text, false, 3);
  CHECK_EQ(nospecial.size(), size_t(3));
  CHECK(nospecial.truncated);
  CHECK_EQ(tok->encode(text, true, 2).size(), size_t(2));
  CHECK_EQ(error_code_of([&] { tok->encode(text, true, 1); }), ErrorCode::kInvalidArgument);
  // Truncation stops early but still refuses invalid UTF-8 after the cut.
  CHECK_EQ(error_code_of([&] { tok->encode(text + " \xFF", true, 4); }), ErrorCode::kInvalidArgument);
}

TEST_CASE(decode_as_hugging_face) {
  auto tok = uncased();
  auto ids = [&](const std::string& s) { return tok->encode(s).ids; };
  CHECK_EQ(tok->decode(ids("Hello, world! I can't go."), true, true), std::string("hello, world! i can't go."));
  CHECK_EQ(tok->decode(ids("Hello, world!"), false, true), std::string("[CLS] hello, world! [SEP]"));
  // Without clean_up_tokenization_spaces the WordPiece decoder's per-token cleanup still glues
  // punctuation (as BertTokenizerFast does); only the whole-string pass (" ' " -> "'") is skipped.
  CHECK_EQ(tok->decode(ids("Hello, world!"), true, false), std::string("hello, world!"));
  CHECK_EQ(tok->decode(ids("it's"), true, false), std::string("it ' s"));
  CHECK_EQ(tok->decode(ids("it's"), true, true), std::string("it's"));
  CHECK_EQ(tok->decode(ids("unaffable"), true, true), std::string("unaffable"));
  CHECK_EQ(tok->decode({tok->token_to_id("##ing"), tok->token_to_id("##s")}, true, true), std::string("##ings"));
  CHECK_EQ(tok->decode(ids("it's you're I'm they've"), true, true), std::string("it's you're i'm they've"));
  CHECK_EQ(tok->decode(ids("a ' b"), true, true), std::string("a'b"));
  CHECK_EQ(tok->decode({1996, -1, 999999, 3899}, false, true), std::string("the dog"));
  CHECK_EQ(tok->decode({}, false, true), std::string(""));
  // A tokenizer.json whose decoder has cleanup=false: no per-token cleanup.
  TempDir dir;
  json j = json::parse(read_all(uncased_json()));
  j["decoder"]["cleanup"] = false;
  auto raw = Tokenizer::load(dir.write("t.json", j.dump()));
  CHECK_EQ(raw->describe().decoder, std::string("WordPiece"));
  CHECK_EQ(raw->decode(raw->encode("Hello, world!").ids, true, false), std::string("hello , world !"));
}

TEST_CASE(vocab_txt_and_tokenizer_json_load_the_same) {
  auto a = Tokenizer::load(uncased_vocab());
  auto b = Tokenizer::load(uncased_json());
  CHECK_EQ(a->vocab_size(), b->vocab_size());
  CHECK_EQ(a->vocab_size(), size_t(30522));
  for (size_t id = 0; id < a->vocab_size(); id += 97) CHECK_EQ(a->id_to_token(id), b->id_to_token(id));
  CHECK_EQ(a->cls_id(), b->cls_id());
  CHECK_EQ(a->sep_id(), b->sep_id());
  CHECK_EQ(a->pad_id(), b->pad_id());
  CHECK_EQ(a->mask_id(), b->mask_id());
  CHECK_EQ(a->unk_id(), b->unk_id());
  CHECK_EQ(a->config().lowercase, b->config().lowercase);
  CHECK_EQ(a->config().strip_accents, b->config().strip_accents);
  for (int64_t id : {0, 100, 101, 102, 103}) {
    CHECK(a->is_special(id));
    CHECK(b->is_special(id));
  }
  CHECK(!a->is_special(1996));
  std::ifstream in(shared_data("wordpiece-golden-uncased-hf.jsonl"));
  std::string line;
  int differ = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const std::string text = json::parse(line)["text"];
    const Encoding x = a->encode(text), y = b->encode(text);
    if (x.ids != y.ids || x.offsets != y.offsets) ++differ;
  }
  CHECK_EQ(differ, 0);
  // A directory: tokenizer.json is preferred over vocab.txt.
  TempDir dir;
  dir.write("vocab.txt", read_all(uncased_vocab()));
  dir.write("tokenizer_config.json", R"({"do_lower_case": false})");
  auto from_vocab_dir = Tokenizer::load(dir.path);
  CHECK(!from_vocab_dir->config().lowercase);
  CHECK(!from_vocab_dir->config().strip_accents);
  dir.write("tokenizer.json", read_all(uncased_json()));
  auto from_json_dir = Tokenizer::load(dir.path);
  CHECK(from_json_dir->config().lowercase);
}

TEST_CASE(cased_config_from_tokenizer_config_json) {
  TempDir dir;
  dir.write("vocab.txt", read_all(shared_data("bert-base-cased-vocab.txt")));
  dir.write("tokenizer_config.json",
            R"({"do_lower_case": false, "model_max_length": 512, "mask_token": {"content": "[MASK]", "__type": "AddedToken"}})");
  auto tok = Tokenizer::load(dir.path + "/vocab.txt");
  CHECK(!tok->config().lowercase);
  CHECK_EQ(tok->config().model_max_length, size_t(512));
  CHECK_EQ(tok->mask_id(), int64_t(103));
  CHECK_EQ(join(tokens_of(*tok, tok->encode("Hello Café [MASK]", false))), std::string("Hello Café [MASK]"));
}

TEST_CASE(lowercase_is_per_character_and_multi_char) {
  // Cased vocabulary entries are irrelevant here: only the normalized word matters, checked through
  // a tiny in-memory vocabulary.
  bert::TokenizerConfig cfg;
  cfg.lowercase = true;
  cfg.strip_accents = false;
  std::vector<std::string> vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "i\xCC\x87", "\xCF\x83", "##\xCF\x83", "a"};
  auto tok = Tokenizer::from_vocab(vocab, cfg);
  // U+0130 lowercases to "i" + U+0307 (two code points), both mapped back to the one input char.
  const Encoding e = tok->encode("\xC4\xB0", false);
  CHECK_EQ(e.ids.size(), size_t(1));
  CHECK_EQ(e.ids[0], int64_t(5));
  CHECK(e.offsets[0] == std::make_pair(0u, 1u));
  // Final sigma: per character, always U+03C3.
  const Encoding s = tok->encode("\xCE\xA3\xCE\xA3", false);
  CHECK(s.ids == std::vector<int64_t>({6, 7}));
}

TEST_CASE(unicode_predicates) {
  using namespace bert::unicode;
  CHECK(is_bert_control(0x200B));   // Cf
  CHECK(is_bert_control(0xE000));   // Co
  CHECK(!is_bert_control(0xFFFF));  // Cn is kept
  CHECK(!is_bert_control('\n'));
  CHECK(is_rust_whitespace(0x3000));
  CHECK(is_rust_whitespace(0x2028));
  CHECK(!is_rust_whitespace(0x200B));
  CHECK(!is_rust_whitespace(0x1C));
  CHECK(is_bert_punctuation('$'));
  CHECK(is_bert_punctuation(0x3002));
  CHECK(!is_bert_punctuation(0x20AC));
  CHECK(is_chinese_char(0x4E2D));
  CHECK(!is_chinese_char(0x2B820));
  CHECK(is_chinese_char(0x2B920));
  char32_t buf[8];
  CHECK_EQ(nfd_char(0xAC00, buf, 8), size_t(2));  // Hangul syllable -> conjoining jamo
  CHECK_EQ(nfd_char(0xE9, buf, 8), size_t(2));
  CHECK_EQ(find_invalid_utf8("abc\xC3\xA9"), std::string_view::npos);
  CHECK_EQ(find_invalid_utf8("ab\xC0\x80"), size_t(2));                // overlong
  CHECK_EQ(find_invalid_utf8("\xED\xA0\x80"), size_t(0));              // surrogate
  CHECK_EQ(find_invalid_utf8("abcdefgh\xF4\x90\x80\x80"), size_t(8));  // > U+10FFFF
}

// The generated table (unicode_tables.cc) holds Hugging Face's decisions where its Unicode data is
// older than utf8proc's; these are samples of each kind of difference.
TEST_CASE(unicode_tables_follow_hugging_face) {
  using namespace bert::unicode;
  // The overrides are relative to one utf8proc Unicode version: another one needs a regenerated table.
  CHECK_EQ(std::string(library_unicode_version()), std::string(tables::kBaseUnicodeVersion));
  for (size_t i = 0; i < tables::kPropertyCount; ++i) {
    CHECK(tables::kProperties[i].first <= tables::kProperties[i].last);
    if (i > 0) CHECK(tables::kProperties[i - 1].last < tables::kProperties[i].first);
  }
  CHECK(!is_bert_punctuation(0x061D));  // ARABIC END OF TEXT MARK (Po since Unicode 14)
  CHECK(!is_bert_punctuation(0x2E52));  // Po since Unicode 13
  CHECK(is_bert_punctuation(0x00A1));
  CHECK(!is_bert_control(0x0890));  // Cf since Unicode 14
  CHECK(is_bert_control(0x00AD));
  CHECK(!is_nonspacing_mark(0x0898));  // Mn since Unicode 14
  CHECK(is_nonspacing_mark(0x0301));
  CHECK_EQ(combining_class(0x0898), uint8_t(0));
  CHECK_EQ(combining_class(0x0301), uint8_t(230));
  char32_t lower[2];
  CHECK_EQ(to_lowercase(0x1C89, lower), size_t(1));  // Unicode 16 case pair, known to Rust's std
  CHECK_EQ(uint32_t(lower[0]), uint32_t(0x1C8A));
  CHECK_EQ(uint32_t(simple_lowercase(0x0041)), uint32_t(0x61));
  char32_t buf[8];
  CHECK_EQ(nfd_char(0x11938, buf, 8), size_t(1));  // decomposes since Unicode 13; not for the oracle
  // End to end: U+061D stays inside the word, as in Hugging Face's output.
  auto t = uncased();
  const Encoding e = t->encode("a\u061Db c", false);
  CHECK_EQ(e.size(), size_t(2));
  if (e.size() == 2) CHECK(e.offsets[0] == std::make_pair(0u, 3u));
}

TEST_CASE(errors_name_the_file_and_the_problem) {
  std::string msg;
  CHECK_EQ(error_code_of([] { Tokenizer::load("/nonexistent/vocab.txt"); }, &msg), ErrorCode::kModelNotFound);
  CHECK(msg.find("/nonexistent/vocab.txt") != std::string::npos);
  TempDir dir;
  CHECK_EQ(error_code_of([&] { Tokenizer::load(dir.path); }, &msg), ErrorCode::kModelNotFound);
  const std::string bad_json = dir.write("broken.json", "{ not json");
  CHECK_EQ(error_code_of([&] { Tokenizer::load(bad_json); }, &msg), ErrorCode::kTokenizerInvalid);
  CHECK(msg.find("broken.json") != std::string::npos);
  // A component this build does not implement is refused at load, named, with the supported list.
  json j = json::parse(read_all(uncased_json()));
  const std::pair<const char*, json> unsupported[] = {{"model", {{"type", "WordLevel"}, {"vocab", {{"a", 0}}}, {"unk_token", "a"}}},
                                                      {"normalizer", {{"type", "Bogus"}}},
                                                      {"pre_tokenizer", {{"type", "UnicodeScripts"}}},
                                                      {"post_processor", {{"type", "Bogus"}}},
                                                      {"decoder", {{"type", "CTC"}}}};
  for (const auto& [section, value] : unsupported) {
    json k = j;
    k[section] = value;
    const std::string file = dir.write(std::string(section) + ".json", k.dump());
    CHECK_EQ(error_code_of([&] { Tokenizer::load(file); }, &msg), ErrorCode::kTokenizerInvalid);
    const std::string type = value["type"];
    CHECK(msg.find(std::string(section) + " \"" + type + "\" is not supported (supported: ") != std::string::npos);
    CHECK(msg.find(file) != std::string::npos);
  }
  CHECK(msg.find("WordPiece, ByteLevel, Metaspace") != std::string::npos);  // the decoders' list
  // Dropout is sampling, for training: refused for serving.
  const std::string dropout = dir.write("dropout.json", R"({"model": {"type": "BPE", "dropout": 0.1, "vocab": {"a": 0}, "merges": []}})");
  CHECK_EQ(error_code_of([&] { Tokenizer::load(dropout); }, &msg), ErrorCode::kTokenizerInvalid);
  CHECK(msg.find("dropout") != std::string::npos);
  const std::string empty = dir.write("empty.txt", "");
  CHECK_EQ(error_code_of([&] { Tokenizer::load(empty); }), ErrorCode::kTokenizerInvalid);
  const std::string no_unk = dir.write("nounk.txt", "[PAD]\n[CLS]\n[SEP]\n[MASK]\nhello\n");
  CHECK_EQ(error_code_of([&] { Tokenizer::load(no_unk); }, &msg), ErrorCode::kTokenizerInvalid);
  CHECK(msg.find("[UNK]") != std::string::npos);
  // vocab.txt is UTF-8 (transformers reads it so); a line that is not is refused, by number.
  const std::string not_utf8 = dir.write("notutf8.txt", "[PAD]\n[UNK]\n[unused\xFF\xFF`]\n[CLS]\n[SEP]\n[MASK]\n");
  CHECK_EQ(error_code_of([&] { Tokenizer::load(not_utf8); }, &msg), ErrorCode::kTokenizerInvalid);
  CHECK(msg.find("notutf8.txt: line 3 is not valid UTF-8 (byte 19)") != std::string::npos);
  const std::string bad_cfg_dir = dir.path + "/badcfg";
  std::system(("mkdir -p '" + bad_cfg_dir + "'").c_str());
  std::ofstream(bad_cfg_dir + "/vocab.txt") << "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
  std::ofstream(bad_cfg_dir + "/tokenizer_config.json") << R"({"do_lower_case": "yes"})";
  CHECK_EQ(error_code_of([&] { Tokenizer::load(bad_cfg_dir); }, &msg), ErrorCode::kTokenizerInvalid);
  CHECK(msg.find("tokenizer_config.json") != std::string::npos && msg.find("do_lower_case") != std::string::npos);
  // Invalid UTF-8 input is the caller's error.
  auto tok = uncased();
  for (const char* bad : {"\xFF", "abc\xC3", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "a\x80"}) {
    CHECK_EQ(error_code_of([&] { tok->encode(bad); }, &msg), ErrorCode::kInvalidArgument);
  }
  CHECK(msg.find("UTF-8") != std::string::npos);
}

// As in Rust, an added token's id is its id in the model's vocabulary, else the next one after it: the
// "id" written in the file is not used (tokenizer_files_fuzz once found an id of 2^64-1 overflowing).
TEST_CASE(added_token_ids_come_from_the_vocabulary) {
  TempDir d;
  const std::string j = R"({"model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}},
    "normalizer": {"type": "BertNormalizer"}, "pre_tokenizer": {"type": "BertPreTokenizer"},
    "added_tokens": [{"id": 18446744073709551615, "content": "x", "special": true, "normalized": false},
                     {"id": 7, "content": "[MASK]", "special": true, "normalized": false}]})";
  auto tok = Tokenizer::load(d.write("tokenizer.json", j));
  CHECK_EQ(tok->token_to_id("x"), int64_t(5));
  CHECK_EQ(tok->token_to_id("[MASK]"), int64_t(4));
  CHECK_EQ(tok->vocab_size(), size_t(6));
  CHECK(tok->encode("x[MASK]", false).ids == (std::vector<int64_t>{5, 4}));
}

// A sparse id space costs a slot per missing id: bounded by the entries (found by tokenizer_files_fuzz:
// a 709-byte file with one id of 9,184,415 took 2 s and ~300 MB to load).
TEST_CASE(sparse_vocab_ids_are_refused) {
  TempDir d;
  const std::string head = R"({"normalizer": {"type": "BertNormalizer"}, "pre_tokenizer": {"type": "BertPreTokenizer"},
    "model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "!": )";
  std::string message;
  CHECK_EQ(error_code_of([&] { Tokenizer::load(d.write("tokenizer.json", head + "9184415}}}")); }, &message), ErrorCode::kTokenizerInvalid);
  CHECK(message.find("vocab ids go up to 9184415 with 6 entries; ids must stay below 1036") != std::string::npos);
  // Holes up to the bound still load (ids are a mapping; a hole is never produced).
  auto tok = Tokenizer::load(d.write("holes.json", head + "1000}}}"));
  CHECK(tok->encode("!", false).ids == std::vector<int64_t>{1000});
}

// The post-processor's ids are added as the file writes them (as Rust does), so one beyond the
// vocabulary is refused at load (tokenizer_files_fuzz: BertProcessing's [CLS] 101 beside a ~70-token
// vocabulary gave the model an id past its embeddings).
TEST_CASE(post_processor_ids_beyond_the_vocabulary_are_refused) {
  TempDir d;
  const std::string head = R"({"normalizer": {"type": "BertNormalizer"}, "pre_tokenizer": {"type": "BertPreTokenizer"},
    "model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "a": 5}},
    "post_processor": )";
  std::string message;
  CHECK_EQ(error_code_of(
               [&] {
                 Tokenizer::load(d.write("bert.json", head + R"({"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 101]}})"));
               },
               &message),
           ErrorCode::kTokenizerInvalid);
  CHECK(message.find("the post-processor adds \"[CLS]\" as id 101, beyond the vocabulary's ids (0-5)") != std::string::npos);
  // A template's pair-only special token is checked too.
  const std::string tmpl = R"({"type": "TemplateProcessing", "single": [{"Sequence": {"id": "A", "type_id": 0}}],
    "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
    "special_tokens": {"[SEP]": {"id": "[SEP]", "ids": [6], "tokens": ["[SEP]"]}}}})";
  CHECK_EQ(error_code_of([&] { Tokenizer::load(d.write("template.json", head + tmpl)); }, &message), ErrorCode::kTokenizerInvalid);
  CHECK(message.find("as id 6") != std::string::npos);
  // Ids inside the vocabulary are used as written, even when they name another token (as Rust).
  auto tok = Tokenizer::load(d.write("ok.json", head + R"({"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 5]}})"));
  CHECK(tok->encode("a", true).ids == (std::vector<int64_t>{5, 5, 3}));
}

TEST_CASE(added_token_options_lstrip_rstrip) {
  TempDir dir;
  json j = json::parse(read_all(uncased_json()));
  for (auto& t : j["added_tokens"])
    if (t["content"] == "[MASK]") {
      t["lstrip"] = true;
      t["rstrip"] = true;
    }
  auto tok = Tokenizer::load(dir.write("t.json", j.dump()));
  const Encoding e = tok->encode("a  [MASK]  b", false);
  CHECK_EQ(e.ids.size(), size_t(3));
  CHECK(e.offsets[1] == std::make_pair(1u, 11u));
  // normalized=true: matched in the normalized (here lowercased) text, in its normalized form.
  for (auto& t : j["added_tokens"])
    if (t["content"] == "[MASK]") t["normalized"] = true;
  auto norm = Tokenizer::load(dir.write("n.json", j.dump()));
  CHECK_EQ(norm->describe().fast_path, false);
  const Encoding n = norm->encode("a [mask] B", false);
  CHECK(n.ids == (std::vector<int64_t>{1037, 103, 1038}));
}

TEST_CASE(concurrent_encode_is_consistent) {
  auto tok = uncased();
  const std::string text = "Concurrency: the tokenizer is immutable, so threads share it freely. 中文 ΟΔΟΣ";
  const Encoding want = tok->encode(text);
  std::vector<int> bad(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i)
        if (tok->encode(text).ids != want.ids) bad[t]++;
    });
  for (auto& th : threads) th.join();
  CHECK_EQ(bad[0] + bad[1] + bad[2] + bad[3], 0);
}

TEST_MAIN()
