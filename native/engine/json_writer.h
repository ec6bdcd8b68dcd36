// Appends JSON to a std::string. The engine serializes answers natively so the JS thread writes the
// bytes as they are (no JSON encoding of float arrays in JS). Not thread-safe: one writer per answer.
#pragma once
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/errors.h"

namespace bert {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  void raw(std::string_view s) { out_.append(s); }
  void ch(char c) { out_.push_back(c); }

  // Strings as Python's json.dumps(ensure_ascii=False): quotes, backslashes and control characters
  // escaped; other UTF-8 written as is.
  void str(std::string_view s) {
    static const char* hex = "0123456789abcdef";
    out_.push_back('"');
    for (unsigned char c : s) {
      switch (c) {
        case '"': out_.append("\\\""); break;
        case '\\': out_.append("\\\\"); break;
        case '\n': out_.append("\\n"); break;
        case '\r': out_.append("\\r"); break;
        case '\t': out_.append("\\t"); break;
        case '\b': out_.append("\\b"); break;
        case '\f': out_.append("\\f"); break;
        default:
          if (c < 0x20) {
            out_.append("\\u00");
            out_.push_back(hex[c >> 4]);
            out_.push_back(hex[c & 15]);
          } else {
            out_.push_back(static_cast<char>(c));
          }
      }
    }
    out_.push_back('"');
  }

  void integer(int64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
  }

  // Shortest representation that round-trips the double, as Python's repr(float) (a float32 score
  // is widened first, exactly as torch's .tolist() does). A non-finite value is never written (JSON
  // has no NaN, and null is not a number): the heads fail such a request before they serialize it
  // (model/non_finite.h); reaching here with one is a bug, and the request fails rather than answer.
  void number(double v) {
    if (!std::isfinite(v)) throw EngineError(ErrorCode::kInternal, "a non-finite number reached an answer");
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
  }

  void boolean(bool b) { out_.append(b ? "true" : "false"); }
  void null() { out_.append("null"); }

 private:
  std::string& out_;
};

}  // namespace bert
