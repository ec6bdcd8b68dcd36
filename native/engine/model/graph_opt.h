// Load-time rewriting of a TorchScript BERT's graphs for the CPU: every linear layer becomes one
// call of bert_serve::packed_linear (kernels/packed_linear_op.h) with its weights packed once, and a
// linear layer whose only use is an exact GELU (BERT's intermediate layer) computes the GELU in the
// same pass. Answers stay those of the eager float32 model (the kernel accumulates in float32, in a
// different order than the BLAS: differences of a few float ulps).
//
// It works on the module's own structure, as torch.jit.script and torch.jit.trace leave it: a
// submodule's forward that computes aten::linear(x, self.<weight>, self.<bias>) is rewritten for
// every instance of its type at once (TorchScript shares a method's graph between the instances of
// a type), and only when every instance has float32 CPU weights (or bf16 ones
// where the CPU has AVX-512 BF16). Calls between submodules
// (prim::CallMethod) are kept, except where a linear layer's call and the GELU after it become the
// one fused call inside a submodule; the root module's graphs, where the heads map forward's
// submodule calls (call_map.h), keep every call as the file had it.
//
// The original float32 weights of a rewritten layer are released when no graph reads them any more
// and no other attribute shares them (a tied embedding matrix stays).
//
// Threading: runs once on the loading thread, before the module's first forward.
#pragma once
#include <torch/script.h>

#include <string>

namespace bert {

struct GraphOptReport {
  int linear_layers = 0;  // module instances whose linear layer now runs packed
  int bf16_layers = 0;    // of which with bf16 weights (a bf16 model's encoder, on the bf16 kernel)
  int fused_gelu = 0;     // of which the GELU after it is computed in the same pass (graphs rewritten)
  int64_t packed_bytes = 0;
  int64_t released_bytes = 0;    // the original weights no graph reads any more
  std::string describe() const;  // one line for the startup log and /info
};

// Whether the packed kernels run on this CPU (AVX2 and FMA) and were not turned off with
// BERT_SERVE_PACKED_LINEAR=0 (for comparisons: docs/performance.md).
bool packed_linear_enabled();
// Whether a mixed bf16 model's linear layers go to the packed bf16 kernel: only with
// BERT_SERVE_PACKED_BF16=1 (read at each load) on a CPU with AVX-512 BF16. Off by default: on the
// Zen 5 it measured faster than libtorch's bf16 linear at batch 1 but slower at 32 x 128 in a whole
// forward (docs/performance.md).
bool packed_bf16_enabled();

// Rewrites `module` (on the CPU) in place: its float32 linear layers, and its bf16 ones where
// packed_bf16_enabled() (kernels/packed_gemm_bf16.h; a packed bf16 layer takes its input from before
// the bf16 cast mixed_precision.h inserted and rounds it itself). Call before its first forward.
GraphOptReport pack_linear_layers(torch::jit::Module& module);

}  // namespace bert
