// NFD, NFKD, NFC and NFKC on a NormalizedString, as Hugging Face's tokenizers applies them: the crate
// unicode-normalization-alignments (Unicode 9.0 data) yields each output character with its
// alignment `change`, and NormalizedString::transform turns those into offsets. This is a port of
// that crate's Decompositions and Recompositions iterators (including where they put the change of a
// reordered or composed character); the character data (decompositions, combining classes,
// compositions) comes from utf8proc with the generated overrides where its Unicode is newer
// (unicode_tables.cc).
//
// Threading: free functions; the composition table is built once, on first use, thread-safely.
#pragma once
#include <vector>

#include "engine/text/normalized_string.h"

namespace bert::unicode {

enum class NormalForm { kNFD, kNFKD, kNFC, kNFKC };

// The (char, change) sequence the crate produces for `text` (valid UTF-8).
void normalization_changes(const std::string& text, NormalForm form, std::vector<CharChange>& out);

// NormalizedString::nfd() / nfkd() / nfc() / nfkc().
void normalize(NormalizedString& s, NormalForm form);

// Compatibility decomposition of one code point (full, recursive, Hangul included) as the crate
// knows it, without reordering. Writes up to `cap` code points; returns the count.
size_t nfkd_char(char32_t cp, char32_t* out, size_t cap);

// The primary composite of (a, b), or 0 when they do not compose (Hangul included).
char32_t compose_pair(char32_t a, char32_t b);

}  // namespace bert::unicode
