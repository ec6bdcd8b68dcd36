// Extended grapheme clusters (UAX #29), as the Rust crate unicode-segmentation finds them for
// `tokenizers`' Precompiled normalizer, which maps a whole cluster when it is shorter than 6 bytes.
// Boundaries come from utf8proc's rules, with the generated table's corrections for characters
// whose break property the two disagree on (unicode_tables.cc).
//
// Threading: free function; safe from any thread.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace bert::unicode {

// Byte offsets where clusters of `s` (valid UTF-8) end, ascending; the last is s.size() (none for an
// empty string).
void grapheme_ends(const std::string& s, std::vector<size_t>& out);

}  // namespace bert::unicode
