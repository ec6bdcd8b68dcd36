#include "engine/text/byte_level.h"

#include <array>

#include "engine/text/normalized_string.h"
#include "engine/text/unicode.h"

namespace bert::byte_level {

namespace {

struct Tables {
  std::array<char32_t, 256> to_char{};
  Tables() {
    char32_t n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_char[b] = printable ? static_cast<char32_t>(b) : 256 + n++;
    }
  }
};
const Tables& tables() {
  static const Tables t;
  return t;
}

enum Class : uint8_t { kLetter, kNumber, kSpace, kOther };

Class class_of(char32_t c) {
  if (c < 0x80) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return kLetter;
    if (c >= '0' && c <= '9') return kNumber;
  }
  if (unicode::is_gpt2_letter(c)) return kLetter;
  if (unicode::is_gpt2_number(c)) return kNumber;
  if (unicode::is_gpt2_space(c)) return kSpace;
  return kOther;
}

}  // namespace

char32_t char_of_byte(unsigned char b) { return tables().to_char[b]; }

int byte_of_char(char32_t c) {
  if ((c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF)) return static_cast<int>(c);
  if (c >= 256 && c < 256 + 68) {
    // The 68 bytes without a printable self, in byte order, are 256.. (0-32, 127-160, 173).
    const char32_t n = c - 256;
    if (n <= 32) return static_cast<int>(n);
    if (n <= 32 + 34) return static_cast<int>(127 + (n - 33));
    return 173;
  }
  return -1;
}

void gpt2_matches(const std::string& s, std::vector<std::pair<size_t, size_t>>& out) {
  out.clear();
  const size_t n = s.size();
  // Classes and starts of every character, decoded once.
  thread_local std::vector<Class> cls;
  thread_local std::vector<uint32_t> at;  // byte start of each character, plus n
  cls.clear();
  at.clear();
  for (size_t i = 0; i < n;) {
    size_t len = 0;
    const char32_t c = utf8_decode_at(s, i, &len);
    cls.push_back(class_of(c));
    at.push_back(static_cast<uint32_t>(i));
    i += len;
  }
  at.push_back(static_cast<uint32_t>(n));
  const size_t chars = cls.size();
  auto run = [&](size_t k, Class c) {  // end (character index) of the run of class c from k
    while (k < chars && cls[k] == c) ++k;
    return k;
  };
  size_t k = 0;
  while (k < chars) {
    const size_t i = at[k];
    const char first = s[i];
    // 's|'t|'re|'ve|'m|'ll|'d
    if (first == '\'' && k + 1 < chars) {
      const std::string_view rest(s.data() + i + 1, n - i - 1);
      size_t len = 0;
      for (const char* suffix : {"s", "t", "re", "ve", "m", "ll", "d"}) {
        const std::string_view sv(suffix);
        if (rest.substr(0, sv.size()) == sv) {
          len = sv.size();
          break;
        }
      }
      if (len) {
        out.emplace_back(i, i + 1 + len);
        k += 1 + len;  // the suffixes are ASCII: one character per byte
        continue;
      }
    }
    // ' ?\p{L}+' | ' ?\p{N}+' | ' ?[^\s\p{L}\p{N}]+', in that order
    bool matched = false;
    for (const Class c : {kLetter, kNumber, kOther}) {
      size_t from = k;
      if (first == ' ' && k + 1 < chars && cls[k + 1] == c)
        from = k + 1;
      else if (cls[k] != c)
        continue;
      const size_t end = run(from, c);
      out.emplace_back(i, at[end]);
      k = end;
      matched = true;
      break;
    }
    if (matched) continue;
    // '\s+(?!\S)' then '\s+': cls[k] is a space here.
    const size_t end = run(k, kSpace);
    if (end < chars && end - k >= 2) {
      out.emplace_back(i, at[end - 1]);  // give the last space back to the next match
      k = end - 1;
    } else {
      out.emplace_back(i, at[end]);
      k = end;
    }
  }
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    // The length of the valid prefix of a sequence starting here (Unicode's "maximal subpart"):
    // the lead byte's expected length, with the second byte's range depending on the lead.
    size_t need = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
      need = 1;
    else if (c == 0xE0) {
      need = 2;
      lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
      need = 2;
    else if (c == 0xED) {
      need = 2;
      hi = 0x9F;
    } else if (c == 0xF0) {
      need = 3;
      lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3)
      need = 3;
    else if (c == 0xF4) {
      need = 3;
      hi = 0x8F;
    }
    if (need == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    size_t k = 1;
    for (; k <= need && i + k < n; ++k) {
      const unsigned char b = p[i + k];
      const bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
      if (!ok) break;
    }
    if (k == need + 1) {
      out.append(reinterpret_cast<const char*>(p + i), need + 1);
      i += need + 1;
    } else {
      out += "\xEF\xBF\xBD";
      i += k;  // the valid prefix (lead plus continuation bytes that fit) is one replacement
    }
  }
  return out;
}

std::string decode_tokens(const std::vector<std::string>& tokens) {
  std::string bytes;
  for (const std::string& t : tokens) {
    const size_t before = bytes.size();
    bool all = true;
    for (size_t i = 0; i < t.size();) {
      size_t len = 0;
      const int b = byte_of_char(utf8_decode_at(t, i, &len));
      if (b < 0) {
        all = false;
        break;
      }
      bytes.push_back(static_cast<char>(b));
      i += len;
    }
    if (!all) {
      bytes.resize(before);
      bytes += t;
    }
  }
  return utf8_lossy(bytes);
}

}  // namespace bert::byte_level
