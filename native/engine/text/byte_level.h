// Byte-level BPE's two halves (GPT-2, RoBERTa): every byte of the text becomes one printable
// character (GPT-2's bytes_to_unicode table: ' ' -> 'Ġ', '\n' -> 'Ċ', ...), and the text is first
// cut by GPT-2's regex
//     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// The regex is matched here by hand, alternative by alternative as a backtracking engine would, over
// four character classes (letter, number, space, other) read off `tokenizers` itself (the generated
// unicode tables): the same answers as the Oniguruma build inside `tokenizers` for every code point,
// which Debian's older libonig does not give (it disagrees on 9,392 code points, and a differential
// run found the difference: docs/tokenizer.md), and 12-18% faster end to end.
//
// Threading: free functions over constant tables; safe from any thread.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bert::byte_level {

// GPT-2's bytes_to_unicode: the character standing for byte `b`.
char32_t char_of_byte(unsigned char b);
// The byte a character stands for, or -1 when it is not one of the 256.
int byte_of_char(char32_t c);

// The matches of GPT-2's regex in `s` (valid UTF-8): consecutive, covering all of `s`.
void gpt2_matches(const std::string& s, std::vector<std::pair<size_t, size_t>>& out);

// The ByteLevel decoder: each token's characters back to bytes (a token with any other character is
// taken as its own UTF-8 bytes), all tokens concatenated, invalid UTF-8 replaced as Rust's
// String::from_utf8_lossy does.
std::string decode_tokens(const std::vector<std::string>& tokens);

// Rust String::from_utf8_lossy: each maximal invalid subsequence becomes one U+FFFD.
std::string utf8_lossy(std::string_view bytes);

}  // namespace bert::byte_level
