#include "engine/text/regex.h"

#include <oniguruma.h>

#include <mutex>

#include "engine/errors.h"

namespace bert {

namespace {

void init_oniguruma() {
  static std::once_flag once;
  std::call_once(once, [] {
    OnigEncoding encodings[1] = {ONIG_ENCODING_UTF8};
    onig_initialize(encodings, 1);
  });
}

}  // namespace

std::shared_ptr<const Regex> Regex::compile(const std::string& pattern, bool literal, const std::string& what) {
  std::shared_ptr<Regex> r(new Regex());
  r->pattern_ = pattern;
  r->literal_ = literal && !pattern.empty();
  if (r->literal_) return r;
  // An empty literal is the empty regex (Rust escapes it to ""): it matches between every character.
  init_oniguruma();
  OnigRegex reg = nullptr;
  OnigErrorInfo info;
  const auto* p = reinterpret_cast<const OnigUChar*>(pattern.data());
  const int rc = onig_new(&reg, p, p + pattern.size(), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8, ONIG_SYNTAX_DEFAULT, &info);
  if (rc != ONIG_NORMAL) {
    OnigUChar message[ONIG_MAX_ERROR_MESSAGE_LEN];
    onig_error_code_to_str(message, rc, &info);
    throw EngineError(ErrorCode::kTokenizerInvalid,
                      what + ": the regex \"" + pattern + "\" does not compile (" + reinterpret_cast<const char*>(message) + ")");
  }
  r->regex_ = reg;
  return r;
}

Regex::~Regex() {
  if (regex_ != nullptr) onig_free(static_cast<OnigRegex>(regex_));
}

void Regex::find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const {
  out.clear();
  if (literal_) {
    for (size_t at = text.find(pattern_); at != std::string_view::npos; at = text.find(pattern_, at + pattern_.size()))
      out.emplace_back(at, at + pattern_.size());
    return;
  }
  const auto* str = reinterpret_cast<const OnigUChar*>(text.data());
  const OnigUChar* end = str + text.size();
  OnigRegion* region = onig_region_new();
  size_t last_end = 0;
  bool has_last_match = false;
  size_t last_match_end = 0;
  while (last_end <= text.size()) {
    onig_region_clear(region);
    const int rc = onig_search(static_cast<OnigRegex>(regex_), str, end, str + last_end, end, region, ONIG_OPTION_NONE);
    if (rc < 0) break;  // ONIG_MISMATCH (or an error: no more matches, as the Rust iterator ends)
    const size_t s = static_cast<size_t>(region->beg[0]), e = static_cast<size_t>(region->end[0]);
    if (e == s && has_last_match && last_match_end == e) {
      // An empty match right after the previous one: move on by one character.
      if (last_end < text.size()) {
        const unsigned char c = static_cast<unsigned char>(text[last_end]);
        last_end += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
      } else {
        last_end += 1;
      }
      continue;
    }
    last_end = e;
    has_last_match = true;
    last_match_end = e;
    out.emplace_back(s, e);
  }
  onig_region_free(region, 1);
}

}  // namespace bert
