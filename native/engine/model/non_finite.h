// A non-finite number is never an answer. A NaN float would serialize as JSON null (or as a
// meaningless score) with status 200; instead each head checks the values a request's answer is made
// from (fill-mask: the logits at its mask rows; embeddings: the vector written; classification: the
// logits and scores; token classification and question answering: the logits at its tokens) and
// fails that request alone with kNonFiniteOutput, naming the model and what was not finite. The
// ModelRunner counts these failures (/metrics) and logs them, rate-limited.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "engine/errors.h"
#include "engine/sched/request.h"

namespace bert {

// The first non-finite value of v[0..n) as "NaN at 3", "+Inf at 0"; "" when every value is finite.
inline std::string first_non_finite(const float* v, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (std::isfinite(v[i])) continue;
    return std::string(std::isnan(v[i]) ? "NaN" : v[i] > 0 ? "+Inf" : "-Inf") + " at " + std::to_string(i);
  }
  return "";
}

// Fails `r`: "model <name> produced <found> in <what>; no answer is made from it".
inline void fail_non_finite(Request& r, const std::string& model_name, const std::string& what, const std::string& found) {
  r.fail(ErrorCode::kNonFiniteOutput,
         "model " + model_name + " produced a non-finite value (" + found + ") in " + what + "; no answer is made from it");
}

// Per-token values [batch, seq, width] (float32, CPU, contiguous), a request per row: a request with
// a non-finite value at one of its real tokens fails ("the <what> of token 3"); every other one is
// handed to answer(request, row). The per-token heads (token classification, question answering)
// answer through it.
template <class Answer>
void answer_finite_rows(const torch::Tensor& values, const std::string& model_name, const std::string& what,
                        std::vector<RequestPtr>& requests, Answer&& answer) {
  const int64_t seq = values.size(1), width = values.size(2);
  for (size_t b = 0; b < requests.size(); ++b) {
    Request& r = *requests[b];
    const float* row = values.data_ptr<float>() + static_cast<int64_t>(b) * seq * width;
    std::string bad;
    int64_t token = 0;
    for (const int64_t n = static_cast<int64_t>(r.num_tokens()); token < n && bad.empty(); ++token)
      bad = first_non_finite(row + token * width, width);
    if (bad.empty())
      answer(r, b);
    else
      fail_non_finite(r, model_name, "the " + what + " of token " + std::to_string(token - 1), bad);
  }
}

}  // namespace bert
