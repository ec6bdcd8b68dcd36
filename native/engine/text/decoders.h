// tokenizer.json's decoders: they turn token strings back into text. Ports of `tokenizers`'
// WordPiece, ByteLevel, Metaspace, BPEDecoder, Replace, ByteFallback, Fuse, Strip and Sequence
// (decode_chain: each works on the list of token strings the previous one left; the results are
// joined without separators).
//
// Threading: a built decoder is immutable; decode_chain is const and safe from any thread.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/text/pre_tokenizers.h"
#include "engine/text/regex.h"

namespace bert {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
  virtual std::string describe() const = 0;
};
using DecoderPtr = std::shared_ptr<const Decoder>;

DecoderPtr make_wordpiece_decoder(std::string prefix, bool cleanup);
DecoderPtr make_byte_level_decoder();
DecoderPtr make_metaspace_decoder(std::string replacement, PrependScheme scheme);
DecoderPtr make_bpe_decoder(std::string suffix);
DecoderPtr make_replace_decoder(std::shared_ptr<const Regex> pattern, std::string content);
DecoderPtr make_byte_fallback_decoder();
DecoderPtr make_fuse_decoder();
DecoderPtr make_strip_decoder(char32_t content, size_t start, size_t stop);
DecoderPtr make_sequence_decoder(std::vector<DecoderPtr> items);

// Rust Decoder::decode: decode_chain, then the strings joined; without a decoder, joined by spaces.
std::string decode_tokens(const Decoder* decoder, std::vector<std::string> tokens);

// The WordPiece decoder's cleanup (decoders::wordpiece::cleanup) on one string.
std::string wordpiece_cleanup(std::string s);

}  // namespace bert
