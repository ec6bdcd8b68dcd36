// The TorchScript operator bert_serve::packed_linear(input, weights, activation) and the weights
// object it takes (a TorchScript custom class, so a module attribute can hold it): torch.nn.Linear
// (then GELU when activation is 1) on float32 CPU tensors, computed by kernels/packed_gemm.h with the
// weights packed once. model/graph_opt.cc substitutes it for linear layers at load.
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
  // Packs a float32 [n, k] weight and its [n] bias (undefined: none).
  PackedLinearWeights(const at::Tensor& weight, const at::Tensor& bias);
  int64_t n = 0, k = 0;
  at::Tensor packed;  // packed_floats(n, k) floats
};

// The operator's name, for graph rewriting ("bert_serve::packed_linear"); calling it also makes sure
// this file's registrations are linked in.
c10::Symbol packed_linear_symbol();
// The TorchScript type of PackedLinearWeights, for module attributes.
c10::TypePtr packed_linear_weights_type();

at::Tensor packed_linear(const at::Tensor& input, const c10::intrusive_ptr<PackedLinearWeights>& weights, int64_t activation);
// The same on a given instruction set (preferred_isa() above), for tests and benchmarks.
at::Tensor packed_linear_on(const at::Tensor& input, const c10::intrusive_ptr<PackedLinearWeights>& weights, int64_t activation, Isa isa);

// How many distinct threads the op's own at::parallel_for runs `chunks` chunks on, on the calling
// thread's intra-op setting: 1 where the op was built serial (without OpenMP, see the .cc), else
// min(chunks, at::get_num_threads()). engine_limit reports it; a test holds it.
int parallel_threads_used(int64_t chunks);

}  // namespace bert::kernels
