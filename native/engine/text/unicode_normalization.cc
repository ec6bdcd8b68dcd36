#include "engine/text/unicode_normalization.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "engine/text/unicode.h"

namespace bert::unicode {

namespace {

constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

std::string utf8_of(const char32_t* cps, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) append_utf8(s, cps[i]);
  return s;
}

// utf8proc's NFC of a short sequence, as code points.
std::vector<char32_t> utf8proc_nfc(const std::string& s) {
  std::vector<char32_t> out;
  utf8proc_uint8_t* r = utf8proc_NFC(reinterpret_cast<const utf8proc_uint8_t*>(s.c_str()));
  if (r == nullptr) return out;
  const std::string str(reinterpret_cast<const char*>(r));
  std::free(r);
  for (size_t i = 0; i < str.size();) {
    size_t n = 0;
    out.push_back(utf8_decode_at(str, i, &n));
    i += n;
  }
  return out;
}

// (first, second) -> primary composite, for every canonical composition utf8proc knows that the
// crate's Unicode 9 data also has (the generated table lists the newer ones to leave out).
class CompositionTable {
 public:
  CompositionTable() {
    for (char32_t cp = 0xC0; cp < 0x110000; ++cp) {
      if (cp >= 0xD800 && cp < 0xE000) continue;
      if (cp >= kSBase && cp < kSBase + kSCount) continue;  // Hangul: algorithmic
      char32_t d[32];
      const size_t n = nfd_char(cp, d, 32);
      if (n < 2) continue;
      if (is_composition_excluded(cp)) continue;
      const char32_t self[1] = {cp};
      const std::vector<char32_t> again = utf8proc_nfc(utf8_of(self, 1));
      if (again.size() != 1 || again[0] != cp) continue;  // singleton, excluded or non-starter decomposition
      const std::vector<char32_t> first = utf8proc_nfc(utf8_of(d, n - 1));
      if (first.size() != 1) continue;
      const char32_t pair[2] = {first[0], d[n - 1]};
      const std::vector<char32_t> check = utf8proc_nfc(utf8_of(pair, 2));
      if (check.size() == 1 && check[0] == cp) map_.emplace(key(first[0], d[n - 1]), cp);
    }
  }
  char32_t get(char32_t a, char32_t b) const {
    const auto it = map_.find(key(a, b));
    return it == map_.end() ? 0 : it->second;
  }

 private:
  static uint64_t key(char32_t a, char32_t b) { return (uint64_t(a) << 21) | b; }
  std::unordered_map<uint64_t, char32_t> map_;
};

struct Item {
  uint8_t ccc;
  char32_t c;
  int32_t change;
};

// Decompositions: each character's decomposition (first output change 0, the others 1), with every
// run of non-starters stably sorted by combining class.
void decompose(const std::string& text, bool compat, std::vector<Item>& out) {
  out.clear();
  size_t pending = 0;  // start of the run not yet sorted
  char32_t d[32];
  for (size_t i = 0; i < text.size();) {
    size_t len = 0;
    const char32_t ch = utf8_decode_at(text, i, &len);
    i += len;
    const size_t n = compat ? nfkd_char(ch, d, 32) : nfd_char(ch, d, 32);
    for (size_t k = 0; k < n; ++k) {
      const uint8_t ccc = combining_class(d[k]);
      if (ccc == 0) {
        std::stable_sort(out.begin() + static_cast<std::ptrdiff_t>(pending), out.end(),
                         [](const Item& a, const Item& b) { return a.ccc < b.ccc; });
        pending = out.size();
      }
      out.push_back(Item{ccc, d[k], k == 0 ? 0 : 1});
    }
  }
  std::stable_sort(out.begin() + static_cast<std::ptrdiff_t>(pending), out.end(),
                   [](const Item& a, const Item& b) { return a.ccc < b.ccc; });
}

// Recompositions: the crate's state machine, emitting in the order its iterator does.
void recompose(const std::vector<Item>& in, std::vector<CharChange>& out) {
  std::vector<CharChange> buffer;
  bool has_composee = false, has_last = false;
  CharChange composee{0, 0};
  uint8_t last_ccc = 0;
  for (const Item& it : in) {
    const char32_t ch = it.c;
    const int32_t change = it.change;
    const uint8_t ch_class = it.ccc;
    if (!has_composee) {
      if (ch_class != 0) {
        out.push_back({ch, change});
        continue;
      }
      composee = {ch, change};
      has_composee = true;
      continue;
    }
    const CharChange k = composee;
    if (!has_last) {
      if (const char32_t r = compose_pair(k.c, ch)) {
        composee = {r, k.change + change - 1};
        continue;
      }
      if (ch_class == 0) {
        composee = {ch, change};
        out.push_back(k);
        continue;
      }
      buffer.push_back({ch, change});
      has_last = true;
      last_ccc = ch_class;
      continue;
    }
    if (last_ccc >= ch_class) {
      if (ch_class == 0) {  // blocked by the buffered marks: purge them
        composee = {ch, change};
        has_last = false;
        out.push_back(k);
        out.insert(out.end(), buffer.begin(), buffer.end());
        buffer.clear();
        continue;
      }
      buffer.push_back({ch, change});
      last_ccc = ch_class;
      continue;
    }
    if (const char32_t r = compose_pair(k.c, ch)) {
      composee = {r, k.change + change - 1};
      continue;
    }
    buffer.push_back({ch, change});
    last_ccc = ch_class;
  }
  if (has_composee) out.push_back(composee);
  out.insert(out.end(), buffer.begin(), buffer.end());
}

}  // namespace

size_t nfkd_char(char32_t cp, char32_t* out, size_t cap) {
  if (cp < 0xA0 || is_compat_decomposition_unknown(cp)) {  // nothing below U+00A0 decomposes
    out[0] = cp;
    return 1;
  }
  int boundclass = UTF8PROC_BOUNDCLASS_START;
  const utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), reinterpret_cast<utf8proc_int32_t*>(out),
                                                     static_cast<utf8proc_ssize_t>(cap),
                                                     static_cast<utf8proc_option_t>(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT), &boundclass);
  if (n <= 0 || static_cast<size_t>(n) > cap) {
    out[0] = cp;
    return 1;
  }
  return static_cast<size_t>(n);
}

char32_t compose_pair(char32_t a, char32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount) return a + (b - kTBase);
  // Every other composition pairs a starter with a combining mark or vowel sign, all >= U+0300: a
  // cheap filter before the table.
  if (b < 0x300) return 0;
  static const CompositionTable table;
  return table.get(a, b);
}

void normalization_changes(const std::string& text, NormalForm form, std::vector<CharChange>& out) {
  thread_local std::vector<Item> items;
  const bool compat = form == NormalForm::kNFKD || form == NormalForm::kNFKC;
  decompose(text, compat, items);
  out.clear();
  if (form == NormalForm::kNFD || form == NormalForm::kNFKD) {
    for (const Item& it : items) out.push_back({it.c, it.change});
  } else {
    recompose(items, out);
  }
}

void normalize(NormalizedString& s, NormalForm form) {
  std::vector<CharChange>& changes = NormalizedString::scratch_changes();
  normalization_changes(s.get(), form, changes);
  s.transform(changes, 0);
}

}  // namespace bert::unicode
