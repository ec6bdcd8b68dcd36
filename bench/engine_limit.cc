// engine_limit: the "engine limit", i.e. how fast plain libtorch runs the computation the engine
// runs for fill-mask, with no tokenizer, queue, scheduler, N-API or HTTP in the way. Everything the
// server adds is measured against these numbers (bench/run.js, docs/benchmarks.md).
//
// Per batch: int64 [batch, seq] ids of random valid (non-special) tokens, [CLS] ... [SEP], one
// [MASK] per row; the module's fill_mask_logits(input_ids, attention_mask, token_type_ids,
// flat_mask_index) when it has that method (what the engine calls: the vocabulary projection at
// the mask rows only), else forward() and a gather of the mask rows; then softmax and top-5 as the
// engine's fill-mask head does. Inputs are built before the clock starts (model compute only).
//
// Usage:
//   engine_limit --model DIR [--threads N] [--batches 1,8,32] [--seqs 16,128]
//                [--warmup N] [--min-repeats N] [--max-repeats N] [--target-seconds S]
//                [--method auto|forward|fill_mask_logits|plain] [--jit-optimize 0|1] [--seed N]
//                [--mix FILE [--mix-batch N] [--mix-tokens N] [--mix-policy sorted|fifo|cost] [--mix-window N]
//                 [--mix-overhead N]]
//                [--no-shapes] [--gap-us N] [--dtype float32|bfloat16]
// --dtype bfloat16: after loading, the floating-point parameters and buffers are converted to bf16 as
//   the engine does for `dtype: bfloat16` (native/engine/model/model.cc; integer buffers stay int64):
//   LayerNorms and the head kept float32 (mixed_precision.h; BERT_SERVE_MIXED_BF16=0: all bf16), the
//   linear layers on libtorch's bf16 linear, or on the packed bf16 kernel with BERT_SERVE_PACKED_BF16=1
//   where the CPU has AVX-512 BF16.
//   Meant for models exported by scripts/ (scripted: their graphs follow the weights' dtype); a
//   torch.jit.trace of a float32 model keeps float32 casts the engine retargets and this does not.
// An int8 model (config.json's bert_serve block has "quantized_engine") is loaded with that
//   quantized engine selected first, as the engine does.
// float32: the linear layers are rewritten to packed-weight kernels at load, as the engine does
//   (native/engine/model/graph_opt.h); BERT_SERVE_PACKED_LINEAR=0 turns that off in both.
// Memory: tensors come from the engine's block cache, as in the engine (host_memory.h);
//   BERT_SERVE_MALLOC=untuned measures glibc's defaults and libtorch's own allocator instead.
// --threads: at::set_num_threads (default: the core count, as the engine does with one worker).
// --mix FILE: whitespace-separated sequence lengths (tokens incl. [CLS]/[SEP]), e.g. a tokenized
//   corpus. The sequences are grouped into batches (policy cost: the scheduler's own BatchPicker
//   draining a full queue, window --mix-window (0 = 256) and batch overhead --mix-overhead tokens;
//   sorted: sort by length within windows of --mix-window arrivals, 0 = all, and cut into full
//   batches; fifo: arrival order), at most --mix-batch sequences and --mix-tokens padded tokens per
//   batch, and one pass over all of them is timed.
// --gap-us N: sleep N us before each timed repeat, as a lone request reaches an idle engine (threads
//   asleep, caches cold); measured here it makes no difference beyond run-to-run noise.
// --jit-optimize: TorchScript graph-executor optimization; default 0, as the engine runs
//   (native/engine/model/model_runner.h).
//
// Prints JSON lines on stdout: one {"type":"info",...}, one {"type":"shape",...} per batch x seq
// ({model, batch, seq, seq_per_s, tokens_per_s, median_ms, ...}) and one {"type":"mix",...} (with
// "plan": the lengths of each batch it ran, for giving another runtime the same batches).
// OMP_WAIT_POLICY must be set before libgomp loads (docs/traps.md#12); when it is unset the program
// sets PASSIVE (as the engine's loader does) and re-executes itself.
#include "engine/engine.h"
#include "engine/host_memory.h"
#include "engine/kernels/packed_linear_op.h"
#include "engine/model/graph_opt.h"
#include "engine/model/mixed_precision.h"
#include "engine/sched/batch_picker.h"

#include <torch/csrc/jit/python/update_graph_executor_opt.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string model;
  int threads = 0;
  std::vector<int64_t> batches{1, 8, 32};
  std::vector<int64_t> seqs{16, 128};
  int warmup = 1;
  int min_repeats = 3;
  int max_repeats = 20;
  double target_seconds = 3.0;
  std::string method = "auto";
  bool jit_optimize = false;
  uint64_t seed = 1234;
  std::string mix;
  int64_t mix_batch = 32;
  int64_t mix_tokens = 16384;
  std::string mix_policy = "sorted";
  int64_t mix_window = 0;
  int64_t mix_overhead = 64;
  int64_t gap_us = 0;  // idle time before each timed repeat (a lone request reaching an idle engine)
  bool shapes = true;
  std::string dtype = "float32";
};

[[noreturn]] void usage(const std::string& msg) {
  std::cerr << "engine_limit: " << msg << "\n"
            << "usage: engine_limit --model DIR [--threads N] [--batches 1,8,32] [--seqs 16,128] [--warmup N]\n"
            << "       [--min-repeats N] [--max-repeats N] [--target-seconds S] [--method auto|forward|fill_mask_logits|plain]\n"
            << "       [--jit-optimize 0|1] [--seed N] [--mix FILE [--mix-batch N] [--mix-tokens N]\n"
            << "       [--mix-policy sorted|fifo|cost] [--mix-window N] [--mix-overhead N]] [--no-shapes] [--gap-us N]\n"
            << "       [--dtype float32|bfloat16]\n";
  std::exit(2);
}

std::vector<int64_t> parse_list(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    char* end = nullptr;
    long long v = std::strtoll(item.c_str(), &end, 10);
    if (*end != '\0' || v <= 0) usage("bad list item \"" + item + "\" (expected positive integers)");
    out.push_back(v);
  }
  if (out.empty()) usage("empty list");
  return out;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    auto num = [&]() -> double {
      std::string v = next();
      char* end = nullptr;
      double d = std::strtod(v.c_str(), &end);
      if (*end != '\0') usage(a + ": not a number: " + v);
      return d;
    };
    if (a == "--model") o.model = next();
    else if (a == "--threads") o.threads = static_cast<int>(num());
    else if (a == "--batches") o.batches = parse_list(next());
    else if (a == "--seqs") o.seqs = parse_list(next());
    else if (a == "--warmup") o.warmup = static_cast<int>(num());
    else if (a == "--min-repeats") o.min_repeats = std::max(1, static_cast<int>(num()));
    else if (a == "--max-repeats") o.max_repeats = std::max(1, static_cast<int>(num()));
    else if (a == "--target-seconds") o.target_seconds = num();
    else if (a == "--method") o.method = next();
    else if (a == "--jit-optimize") o.jit_optimize = num() != 0;
    else if (a == "--seed") o.seed = static_cast<uint64_t>(num());
    else if (a == "--mix") o.mix = next();
    else if (a == "--mix-batch") o.mix_batch = std::max<int64_t>(1, static_cast<int64_t>(num()));
    else if (a == "--mix-tokens") o.mix_tokens = std::max<int64_t>(1, static_cast<int64_t>(num()));
    else if (a == "--mix-policy") o.mix_policy = next();
    else if (a == "--mix-window") o.mix_window = std::max<int64_t>(0, static_cast<int64_t>(num()));
    else if (a == "--mix-overhead") o.mix_overhead = std::max<int64_t>(0, static_cast<int64_t>(num()));
    else if (a == "--gap-us") o.gap_us = std::max<int64_t>(0, static_cast<int64_t>(num()));
    else if (a == "--no-shapes") o.shapes = false;
    else if (a == "--dtype") o.dtype = next();
    else if (a == "-h" || a == "--help") usage("help");
    else usage("unknown argument " + a);
  }
  if (o.model.empty()) usage("--model DIR is required");
  if (o.method != "auto" && o.method != "forward" && o.method != "fill_mask_logits" && o.method != "plain") usage("bad --method " + o.method);
  if (o.mix_policy != "sorted" && o.mix_policy != "fifo" && o.mix_policy != "cost") usage("bad --mix-policy " + o.mix_policy);
  if (o.dtype != "float32" && o.dtype != "bfloat16") usage("bad --dtype " + o.dtype + " (float32 or bfloat16)");
  if (o.max_repeats < o.min_repeats) o.max_repeats = o.min_repeats;
  return o;
}

std::string json_str(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') { out += '\\'; out += c; }
    else if (static_cast<unsigned char>(c) < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%04x", c); out += b; }
    else out += c;
  }
  return out + "\"";
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return {};
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// vocab_size from config.json (a number after "vocab_size").
int64_t config_vocab_size(const std::string& dir) {
  std::string cfg = read_file(dir + "/config.json");
  auto p = cfg.find("\"vocab_size\"");
  if (p == std::string::npos) return 0;
  p = cfg.find(':', p);
  if (p == std::string::npos) return 0;
  return std::strtoll(cfg.c_str() + p + 1, nullptr, 10);
}

// A string value in config.json ("key": "value"), or "" (the first occurrence of the key).
std::string config_string(const std::string& dir, const std::string& key) {
  std::string cfg = read_file(dir + "/config.json");
  auto p = cfg.find("\"" + key + "\"");
  if (p == std::string::npos) return {};
  p = cfg.find(':', p);
  if (p == std::string::npos) return {};
  auto q1 = cfg.find('"', p);
  if (q1 == std::string::npos) return {};
  auto q2 = cfg.find('"', q1 + 1);
  if (q2 == std::string::npos) return {};
  return cfg.substr(q1 + 1, q2 - q1 - 1);
}

// An int8 model's packed weights need the quantized engine they were packed for (as the engine does).
void select_quantized_engine(const std::string& name) {
  at::QEngine want;
  if (name == "onednn") want = at::QEngine::ONEDNN;
  else if (name == "fbgemm") want = at::QEngine::FBGEMM;
  else if (name == "qnnpack") want = at::QEngine::QNNPACK;
  else if (name == "x86") want = at::QEngine::X86;
  else usage("config.json names an unknown quantized engine " + name);
  for (at::QEngine e : at::globalContext().supportedQEngines())
    if (e == want) { at::globalContext().setQEngine(want); return; }
  usage("this libtorch lacks the quantized engine " + name + " the model was packed for");
}

struct Special {
  int64_t cls = 101, sep = 102, pad = 0, mask = 103, unk = 100;
  std::vector<int64_t> all() const { return {cls, sep, pad, mask, unk}; }
};

// Special-token ids from vocab.txt (line number = id); BERT's defaults otherwise.
Special read_special(const std::string& dir) {
  Special s;
  std::ifstream f(dir + "/vocab.txt");
  if (!f) return s;
  std::string line;
  int64_t id = 0;
  while (std::getline(f, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line == "[CLS]") s.cls = id;
    else if (line == "[SEP]") s.sep = id;
    else if (line == "[PAD]") s.pad = id;
    else if (line == "[MASK]") s.mask = id;
    else if (line == "[UNK]") s.unk = id;
    ++id;
  }
  return s;
}

struct Batch {
  torch::Tensor ids, mask, types, flat;
  int64_t n = 0, seq = 0, real_tokens = 0;
};

class Runner {
 public:
  Runner(const Options& o, torch::jit::Module& m, int64_t vocab, Special sp)
      : module_(m), vocab_(vocab), sp_(sp), rng_(o.seed) {
    has_fast_ = module_.find_method("fill_mask_logits").has_value();
    use_fast_ = o.method == "fill_mask_logits" || (o.method == "auto" && has_fast_);
    plain_ = o.method == "plain";
    if (o.method == "fill_mask_logits" && !has_fast_) usage("the module has no fill_mask_logits method");
    auto fwd = module_.find_method("forward");
    forward_inputs_ = fwd ? static_cast<int>(fwd->function().getSchema().arguments().size()) - 1 : 2;
    auto sp_ids = sp_.all();
    for (int64_t t = 0; t < vocab_; ++t)
      if (std::find(sp_ids.begin(), sp_ids.end(), t) == sp_ids.end()) normal_.push_back(t);
    if (normal_.empty()) normal_.push_back(sp_.unk);
  }

  bool fast() const { return use_fast_; }
  bool has_fast() const { return has_fast_; }
  int forward_inputs() const { return forward_inputs_; }

  // Rows of the given lengths, padded to the longest; one [MASK] per row at a random inner position.
  Batch make(const std::vector<int64_t>& lengths) {
    Batch b;
    b.n = static_cast<int64_t>(lengths.size());
    b.seq = *std::max_element(lengths.begin(), lengths.end());
    b.ids = torch::full({b.n, b.seq}, sp_.pad, torch::kLong);
    b.mask = torch::zeros({b.n, b.seq}, torch::kLong);
    b.types = torch::zeros({b.n, b.seq}, torch::kLong);
    std::vector<int64_t> flat;
    auto ip = b.ids.accessor<int64_t, 2>();
    auto mp = b.mask.accessor<int64_t, 2>();
    std::uniform_int_distribution<size_t> pick(0, normal_.size() - 1);
    for (int64_t r = 0; r < b.n; ++r) {
      const int64_t len = std::max<int64_t>(3, lengths[r]);
      for (int64_t j = 0; j < len; ++j) { ip[r][j] = normal_[pick(rng_)]; mp[r][j] = 1; }
      ip[r][0] = sp_.cls;
      ip[r][len - 1] = sp_.sep;
      std::uniform_int_distribution<int64_t> pos(1, len - 2);
      const int64_t m = pos(rng_);
      ip[r][m] = sp_.mask;
      flat.push_back(r * b.seq + m);
      b.real_tokens += len;
    }
    b.flat = torch::tensor(flat, torch::kLong);
    return b;
  }

  // What the engine's fill-mask head computes for one batch; returns the top-5 ids (kept alive).
  // --method plain: forward alone, for any task's model (embeddings, classification, NER): the
  // floor under what those heads add.
  torch::Tensor run(const Batch& b) {
    torch::Tensor logits;
    if (plain_) {
      std::vector<torch::jit::IValue> in{b.ids, b.mask};
      if (forward_inputs_ == 3) in.emplace_back(b.types);
      torch::jit::IValue out = module_.forward(in);
      if (out.isTuple()) out = out.toTupleRef().elements()[0];
      return out.toTensor();
    }
    if (use_fast_) {
      logits = module_.get_method("fill_mask_logits")({b.ids, b.mask, b.types, b.flat}).toTensor();
    } else {
      std::vector<torch::jit::IValue> in{b.ids, b.mask};
      if (forward_inputs_ == 3) in.emplace_back(b.types);
      torch::jit::IValue out = module_.forward(in);
      if (out.isTuple()) out = out.toTupleRef().elements()[0];
      torch::Tensor all = out.toTensor();
      logits = all.reshape({-1, all.size(-1)}).index_select(0, b.flat);
    }
    auto top = logits.to(torch::kFloat).softmax(-1).topk(5, -1);
    return std::get<1>(top);
  }

 private:
  torch::jit::Module& module_;
  int64_t vocab_;
  Special sp_;
  std::mt19937_64 rng_;
  std::vector<int64_t> normal_;
  bool has_fast_ = false, use_fast_ = false, plain_ = false;
  int forward_inputs_ = 2;
};

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

struct Timing {
  double median = 0, min = 0, max = 0;
  int repeats = 0;
};

// Warm-up, then repeats until min_repeats and target_seconds are both reached (or max_repeats).
template <class F>
Timing time_it(const Options& o, F&& f) {
  for (int i = 0; i < o.warmup; ++i) f();
  std::vector<double> ms;
  const auto start = Clock::now();
  while (static_cast<int>(ms.size()) < o.max_repeats) {
    if (o.gap_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(o.gap_us));
    const auto t0 = Clock::now();
    f();
    ms.push_back(ms_since(t0));
    if (static_cast<int>(ms.size()) >= o.min_repeats && ms_since(start) >= o.target_seconds * 1000) break;
  }
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  Timing t;
  const size_t n = sorted.size();
  t.median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  t.min = sorted.front();
  t.max = sorted.back();
  t.repeats = static_cast<int>(n);
  return t;
}

std::vector<int64_t> read_lengths(const std::string& path) {
  std::ifstream f(path);
  if (!f) usage("cannot read --mix file " + path);
  std::vector<int64_t> v;
  int64_t x;
  while (f >> x) v.push_back(std::max<int64_t>(3, x));
  if (v.empty()) usage("--mix file " + path + " has no lengths");
  return v;
}

// Batches as the scheduler forms them from a full queue: windows of arrivals, sorted by length
// (policy sorted) or not (fifo), cut when the next sequence would exceed the request or token budget.
std::vector<std::vector<int64_t>> plan_batches(const Options& o, const std::vector<int64_t>& lengths) {
  std::vector<std::vector<int64_t>> out;
  if (o.mix_policy == "cost") {
    // The scheduler's own batch picker (cost-model split, batch_picker.h) draining the full queue.
    bert::BatchLimits l;
    l.max_requests = static_cast<size_t>(o.mix_batch);
    l.max_tokens = static_cast<size_t>(o.mix_tokens);
    l.sort_by_length = true;
    l.sort_window = o.mix_window > 0 ? static_cast<size_t>(o.mix_window) : 256;
    l.batch_overhead_tokens = static_cast<size_t>(o.mix_overhead);
    bert::BatchPicker picker(l);
    std::vector<size_t> queue(lengths.begin(), lengths.end()), chosen;
    while (!queue.empty()) {
      picker.pick(queue, chosen);
      std::vector<int64_t> batch;
      for (size_t k = chosen.size(); k-- > 0;) {
        batch.push_back(static_cast<int64_t>(queue[chosen[k]]));
        queue.erase(queue.begin() + static_cast<std::ptrdiff_t>(chosen[k]));
      }
      out.push_back(batch);
    }
    return out;
  }
  const size_t window = o.mix_window > 0 ? static_cast<size_t>(o.mix_window) : lengths.size();
  for (size_t w = 0; w < lengths.size(); w += window) {
    std::vector<int64_t> win(lengths.begin() + w, lengths.begin() + std::min(lengths.size(), w + window));
    if (o.mix_policy == "sorted") std::stable_sort(win.begin(), win.end());
    std::vector<int64_t> cur;
    int64_t longest = 0;
    for (int64_t len : win) {
      const int64_t nl = std::max(longest, len);
      if (!cur.empty() && (static_cast<int64_t>(cur.size()) + 1 > o.mix_batch || nl * (static_cast<int64_t>(cur.size()) + 1) > o.mix_tokens)) {
        out.push_back(cur);
        cur.clear();
        longest = 0;
      }
      cur.push_back(len);
      longest = std::max(longest, len);
    }
    if (!cur.empty()) out.push_back(cur);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") == nullptr && std::getenv("GOMP_SPINCOUNT") == nullptr) {
    // libgomp has already read the environment by now: set it and start again.
    ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    ::execv("/proc/self/exe", argv);
    std::perror("engine_limit: re-exec with OMP_WAIT_POLICY=PASSIVE failed; continuing");
  }
  const Options o = parse(argc, argv);
  // The engine's malloc policy (BERT_SERVE_MALLOC=untuned turns it off in both, for comparisons).
  const std::string& malloc_policy = bert::apply_memory_policy();
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = o.threads > 0 ? o.threads : cores;
  try {
    at::set_num_threads(threads);
    torch::jit::setGraphExecutorOptimize(o.jit_optimize);
    c10::InferenceMode inference;

    const std::string qengine = config_string(o.model, "quantized_engine");
    if (!qengine.empty()) select_quantized_engine(qengine);
    const auto tl = Clock::now();
    torch::jit::Module module = torch::jit::load(o.model + "/model.pt", torch::Device(torch::kCPU));
    module.eval();
    // bf16 as the engine serves it (model.cc): float32 LayerNorms, residual sums and head unless
    // BERT_SERVE_MIXED_BF16=0.
    const bool mixed = o.dtype == "bfloat16" && bert::mixed_bf16_enabled();
    const bert::Float32Plan keep = mixed ? bert::plan_float32(module, bert::find_head_parts(module)) : bert::Float32Plan{};
    if (o.dtype == "bfloat16") {
      // Floating state only: integer buffers (position_ids) stay int64.
      for (auto t : module.parameters()) if (t.is_floating_point()) t.set_data(t.to(keep.keeps(t) ? torch::kFloat : torch::kBFloat16));
      for (auto t : module.buffers()) if (t.is_floating_point()) t.set_data(t.to(keep.keeps(t) ? torch::kFloat : torch::kBFloat16));
      if (mixed) bert::insert_float32_casts(module);
    }
    // The engine's load-time rewriting (model.cc calls the same): float32 linear layers packed, and a
    // mixed bf16 model's with BERT_SERVE_PACKED_BF16=1 where the CPU has AVX-512 BF16.
    std::string linear_kernel = "libtorch linear layers";
    const bool packable = o.dtype == "float32" || (mixed && bert::packed_bf16_enabled());
    if (packable && bert::packed_linear_enabled()) linear_kernel = bert::pack_linear_layers(module).describe();
    const double load_ms = ms_since(tl);
    int64_t vocab = config_vocab_size(o.model);
    if (vocab <= 0) usage(o.model + "/config.json: no vocab_size");
    Runner runner(o, module, vocab, read_special(o.model));
    std::string model_name = o.model;
    while (model_name.size() > 1 && model_name.back() == '/') model_name.pop_back();

    const char* wait = std::getenv("OMP_WAIT_POLICY");
    std::cout << "{\"type\":\"info\",\"model\":" << json_str(model_name) << ",\"threads\":" << at::get_num_threads()
              << ",\"cores\":" << cores << ",\"blas\":" << json_str(bert::loaded_blas_library())
              << ",\"malloc\":" << json_str(malloc_policy)
              << ",\"torch_version\":" << json_str(TORCH_VERSION) << ",\"omp_wait_policy\":" << json_str(wait ? wait : "")
              << ",\"method\":" << json_str(o.method == "plain" ? "plain" : runner.fast() ? "fill_mask_logits" : "forward")
              << ",\"has_fill_mask_logits\":" << (runner.has_fast() ? "true" : "false")
              << ",\"forward_inputs\":" << runner.forward_inputs() << ",\"jit_optimize\":" << (o.jit_optimize ? "true" : "false")
              << ",\"vocab_size\":" << vocab << ",\"load_ms\":" << load_ms << ",\"dtype\":" << json_str(o.dtype)
              << ",\"quantized_engine\":" << json_str(qengine) << ",\"linear_kernel\":" << json_str(linear_kernel)
              // The threads the packed layers really run on (1 when the build left them serial).
              << ",\"packed_linear_threads\":" << bert::kernels::parallel_threads_used(threads) << "}" << std::endl;

    if (o.shapes) {
      for (int64_t seq : o.seqs) {
        for (int64_t batch : o.batches) {
          Batch b = runner.make(std::vector<int64_t>(static_cast<size_t>(batch), seq));
          Timing t = time_it(o, [&] { runner.run(b); });
          const double s = t.median / 1000.0;
          std::cout << "{\"type\":\"shape\",\"model\":" << json_str(model_name) << ",\"batch\":" << batch << ",\"seq\":" << seq
                    << ",\"seq_per_s\":" << batch / s << ",\"tokens_per_s\":" << batch * seq / s
                    << ",\"median_ms\":" << t.median << ",\"min_ms\":" << t.min << ",\"max_ms\":" << t.max
                    << ",\"repeats\":" << t.repeats << ",\"threads\":" << threads << "}" << std::endl;
        }
      }
    }

    if (!o.mix.empty()) {
      const auto lengths = read_lengths(o.mix);
      const auto plan = plan_batches(o, lengths);
      std::vector<Batch> batches;
      int64_t real = 0, padded = 0;
      for (const auto& p : plan) {
        batches.push_back(runner.make(p));
        real += batches.back().real_tokens;
        padded += batches.back().n * batches.back().seq;
      }
      Timing t = time_it(o, [&] { for (const auto& b : batches) runner.run(b); });
      const double s = t.median / 1000.0;
      // The batches' lengths, so another runtime can be given exactly the same batches.
      std::string plan_json = "[";
      for (size_t i = 0; i < plan.size(); ++i) {
        plan_json += i ? ",[" : "[";
        for (size_t j = 0; j < plan[i].size(); ++j) plan_json += (j ? "," : "") + std::to_string(plan[i][j]);
        plan_json += "]";
      }
      plan_json += "]";
      std::cout << "{\"type\":\"mix\",\"model\":" << json_str(model_name) << ",\"sequences\":" << lengths.size()
                << ",\"batches\":" << batches.size() << ",\"policy\":" << json_str(o.mix_policy) << ",\"window\":" << o.mix_window
                << ",\"max_batch\":" << o.mix_batch << ",\"max_tokens\":" << o.mix_tokens << ",\"real_tokens\":" << real
                << ",\"padded_tokens\":" << padded << ",\"padding_efficiency\":" << static_cast<double>(real) / padded
                << ",\"seq_per_s\":" << lengths.size() / s << ",\"tokens_per_s\":" << real / s << ",\"pass_ms\":" << t.median
                << ",\"min_ms\":" << t.min << ",\"max_ms\":" << t.max << ",\"repeats\":" << t.repeats << ",\"threads\":" << threads
                << ",\"plan\":" << plan_json << "}" << std::endl;
    }
  } catch (const std::exception& e) {
    std::string what = e.what();
    std::cerr << "engine_limit: " << what.substr(0, what.find('\n')) << std::endl;
    return 1;
  }
  return 0;
}
