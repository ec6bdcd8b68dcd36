// The offsets every span of text in an answer carries (token classification's entities, question
// answering's answers): `,"start":S,"end":E`, UTF-16 code units into the text (JavaScript string
// indices, as /tokenize's), where both Hugging Face pipelines put them.
#pragma once
#include <cstdint>

#include "engine/json_writer.h"

namespace bert {

inline void write_offsets(JsonWriter& w, uint32_t start, uint32_t end) {
  w.raw(",\"start\":");
  w.integer(start);
  w.raw(",\"end\":");
  w.integer(end);
}

}  // namespace bert
