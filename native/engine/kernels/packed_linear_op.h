// The TorchScript operator bert_serve::packed_linear(input, weights, activation) and the weights
// object it takes (a TorchScript custom class, so a module attribute can hold it): torch.nn.Linear
// (then GELU when activation is 1) on CPU tensors, computed by kernels/packed_gemm.h (float32 weights)
// or kernels/packed_gemm_bf16.h (bf16 weights) with the weights packed once. The input may be float32
// or bf16 (converted to float32 first, exactly); the output has the weights' dtype, as
// torch.nn.Linear's: a bf16 layer sums in float32 and rounds once to bf16, so what follows (the
// attention's matmuls) runs in bf16 as after libtorch's bf16 linear (a float32 output there made a
// BERT-base forward at 32 x 128 about 2x slower: docs/performance.md). model/graph_opt.cc
// substitutes it for linear layers at load.
//
// Threading: the op splits the output columns (up to two row blocks of x) or the row blocks over the
// calling thread's intra-op threads (at::parallel_for); the weights object is immutable after
// construction and shared by every call.
#pragma once
#include <torch/custom_class.h>
#include <torch/script.h>

#include "engine/kernels/packed_gemm.h"

namespace bert::kernels {

struct PackedLinearWeights : torch::CustomClassHolder {
  // Packs a float32 [n, k] weight and its [n] bias (undefined: none) for the float32 kernel.
  PackedLinearWeights(const at::Tensor& weight, const at::Tensor& bias);
  // Packs a [n, k] weight rounded to bf16 (a bf16 weight as it is) for the bf16 kernel
  // (packed_gemm_bf16.h, bf16_gemm_supported() must be true); the bias is kept in float32.
  static c10::intrusive_ptr<PackedLinearWeights> bf16(const at::Tensor& weight, const at::Tensor& bias);
  PackedLinearWeights() = default;
  int64_t n = 0, k = 0;
  bool is_bf16 = false;
  at::Tensor packed;  // float32: packed_floats(n, k) floats; bf16: packed_bf16_values(n, k) values
  at::Tensor bias;    // bf16 only: panels(n) * kPanel floats
};

// The operator's name, for graph rewriting ("bert_serve::packed_linear"); calling it also makes sure
// this file's registrations are linked in.
c10::Symbol packed_linear_symbol();
// The TorchScript type of PackedLinearWeights, for module attributes.
c10::TypePtr packed_linear_weights_type();

at::Tensor packed_linear(const at::Tensor& input, const c10::intrusive_ptr<PackedLinearWeights>& weights, int64_t activation);
// The same on a given instruction set (preferred_isa() above), for tests and benchmarks; bf16
// weights run on the bf16 kernel whatever isa says.
at::Tensor packed_linear_on(const at::Tensor& input, const c10::intrusive_ptr<PackedLinearWeights>& weights, int64_t activation, Isa isa);

// How many distinct threads the op's own at::parallel_for runs `chunks` chunks on, on the calling
// thread's intra-op setting: 1 where the op was built serial (without OpenMP, see the .cc), else
// min(chunks, at::get_num_threads()). engine_limit reports it; a test holds it.
int parallel_threads_used(int64_t chunks);

}  // namespace bert::kernels
