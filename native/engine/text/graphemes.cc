#include "engine/text/graphemes.h"

#include <utf8proc.h>

#include <algorithm>

#include "engine/text/normalized_string.h"
#include "engine/text/unicode.h"
#include "engine/text/unicode_tables.h"

namespace bert::unicode {

namespace {

// Unicode 15.1's Indic_Conjunct_Break (rule GB9c: a consonant, a virama, any number of marks, and
// the next consonant stay one cluster), which utf8proc 2.8 (Unicode 15.0) predates and
// unicode-segmentation in `tokenizers` applies: the values as the oracle has them (the generated
// tables::kIndicConjunct).
uint8_t conjunct_class(char32_t c) {
  if (c < 0x300) return 0;
  const auto* end = tables::kIndicConjunct + tables::kIndicConjunctCount;
  const auto* it =
      std::upper_bound(tables::kIndicConjunct, end, c, [](char32_t x, const tables::IndicConjunctRange& r) { return x < r.first; });
  if (it == tables::kIndicConjunct) return 0;
  --it;
  return c <= it->last ? it->value : 0;
}

}  // namespace

void grapheme_ends(const std::string& s, std::vector<size_t>& out) {
  out.clear();
  utf8proc_int32_t state = 0;
  char32_t prev = 0;
  // GB9c's state: 0 outside a conjunct, 1 after a consonant (and extends), 2 once a linker followed.
  int conjunct = 0;
  bool first = true;
  for (size_t i = 0; i < s.size();) {
    size_t n = 0;
    const char32_t c = utf8_decode_at(s, i, &n);
    // utf8proc decides; a character whose break property it does not know as `tokenizers` does is
    // asked about as a representative of the property the oracle gives it (the generated table).
    const char32_t as = grapheme_stand_in(c);
    if (!first) {
      const bool brk = utf8proc_grapheme_break_stateful(static_cast<utf8proc_int32_t>(prev), static_cast<utf8proc_int32_t>(as), &state);
      if (brk && !(conjunct == 2 && conjunct_class(c) == tables::kConjunctConsonant)) out.push_back(i);
    }
    const uint8_t incb = conjunct_class(c);
    if (incb == tables::kConjunctConsonant)
      conjunct = 1;
    else if (incb == tables::kConjunctLinker && conjunct >= 1)
      conjunct = 2;
    else if (!(incb == tables::kConjunctExtend && conjunct >= 1))
      conjunct = 0;
    first = false;
    prev = as;
    i += n;
  }
  if (!s.empty()) out.push_back(s.size());
}

}  // namespace bert::unicode
