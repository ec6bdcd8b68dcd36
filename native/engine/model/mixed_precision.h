// bfloat16 with float32 where it decides the answer and costs little.
//
// Converting every floating tensor of a float32 model to bf16 rounds the residual stream (each
// layer's input and output) to bf16's 8 bits of mantissa at every layer, and the LayerNorm
// statistics with it; on the trained masked LM that flipped 4.7% of the top-1 answers
// (docs/benchmarks.md, "Reduced precision on trained models"). Served in bf16, a model keeps in
// float32:
//   - every LayerNorm: its weight and bias stay float32 and its input is cast to float32, so the
//     mean, the variance and the normalized output are float32;
//   - the residual sums: the next residual adds a bf16 sublayer output to that float32 LayerNorm
//     output, which promotes to float32, so the residual stream never goes through bf16;
//   - the head after the encoder (the masked LM's transform and vocabulary projection, a
//     classifier: forward's chain of submodule calls after the encoder, call_map.h), which the engine
//     runs on the rows it answers from;
// while the encoder's linear layers and the attention (its matmuls and softmax) run in bf16: each
// linear layer's input is cast to its weight's dtype (aten::type_as, which returns its input
// unchanged when the dtypes agree), so a float32 residual enters a bf16 layer as bf16 and a bf16
// activation enters a float32 head as float32. Linear layers in one block that read the same input
// (query, key and value) share one cast.
//
// Works on the graphs as torch.jit.script and torch.jit.trace leave them: aten::layer_norm and
// aten::linear nodes in each submodule's methods, the LayerNorm's weight and bias read from its own
// attributes. A graph is rewritten once, however many module instances share it. Nothing changes
// for float32 or float16 (float16 runs on CUDA only and was not measured).
//
// Threading: both run once on the loading thread, before the module's first forward.
#pragma once
#include <torch/script.h>

#include <string>
#include <unordered_set>
#include <vector>

namespace bert {

// False when BERT_SERVE_MIXED_BF16=0 (read at each load): bf16 then converts every floating tensor, as
// the engine did before, for comparisons (docs/performance.md).
bool mixed_bf16_enabled();

// The floating tensors that stay float32 when the rest of the module is converted to bf16.
struct Float32Plan {
  std::unordered_set<const c10::TensorImpl*> keep;
  int layer_norms = 0;            // LayerNorm modules whose weight and bias are kept
  std::vector<std::string> head;  // the head's submodules, whose parameters are kept: "cls"
  int64_t kept_bytes = 0;         // the kept tensors' size in float32
  bool keeps(const at::Tensor& t) const { return keep.count(t.unsafeGetTensorImpl()) > 0; }
};

// The head after the encoder, as forward calls it.
struct HeadParts {
  std::vector<std::string> submodules;  // dotted paths ("cls"), whose floating parameters and buffers stay float32
  std::vector<at::Tensor> arguments;    // attributes forward passes to them: the tied word embeddings a
                                        // Hugging Face trace hands its vocabulary projection
};

// The submodules after the encoder in forward's chain of calls (call_map.h), "cls" or "classifier",
// and the attributes forward hands them; empty where no chain is found.
HeadParts find_head_parts(const torch::jit::Module& module);

// Call before the conversion. First inlines the script functions each method calls (a scripted
// nn.LayerNorm's forward calls torch.nn.functional.layer_norm, whose graph holds the aten::layer_norm),
// so every LayerNorm node is in its module's own graph with the module's weight and bias; submodule
// calls (prim::CallMethod) stay as they are, for the heads that map them (call_map.h). A tensor
// shared by two attributes (the word embeddings a masked LM's vocabulary projection is tied to) is
// kept for both.
Float32Plan plan_float32(torch::jit::Module& module, const HeadParts& head);

struct Float32Casts {
  int layer_norm_inputs = 0;  // aten::layer_norm nodes whose input is cast to float32
  int linear_inputs = 0;      // aten::linear nodes whose input is cast to their weight's dtype
};

// Inserts the casts into every method's graph. Call after the weights are converted and after any
// pass that retargets the graph's float32 casts to the served dtype (which would retarget these).
Float32Casts insert_float32_casts(torch::jit::Module& module);

// One line for the startup log and /info: what runs in bf16 and what stays float32.
std::string describe_mixed_precision(const Float32Plan& plan, const Float32Casts& casts);

}  // namespace bert
