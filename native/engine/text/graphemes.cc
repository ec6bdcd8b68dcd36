#include "engine/text/graphemes.h"

#include <utf8proc.h>

#include "engine/text/normalized_string.h"
#include "engine/text/unicode.h"

namespace bert::unicode {

void grapheme_ends(const std::string& s, std::vector<size_t>& out) {
  out.clear();
  utf8proc_int32_t state = 0;
  char32_t prev = 0;
  bool first = true;
  for (size_t i = 0; i < s.size();) {
    size_t n = 0;
    const char32_t c = utf8_decode_at(s, i, &n);
    if (!first) {
      // utf8proc decides; a character whose break property it does not know as `tokenizers` does is
      // asked about as a representative of the property the oracle gives it (the generated table).
      const char32_t as = grapheme_stand_in(c);
      if (utf8proc_grapheme_break_stateful(static_cast<utf8proc_int32_t>(prev), static_cast<utf8proc_int32_t>(as), &state))
        out.push_back(i);
      prev = as;
    } else {
      prev = grapheme_stand_in(c);
    }
    first = false;
    i += n;
  }
  if (!s.empty()) out.push_back(s.size());
}

}  // namespace bert::unicode
