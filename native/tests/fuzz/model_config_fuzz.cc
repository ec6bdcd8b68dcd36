// Fuzz target: ModelConfig::load (config.json). It reads a path, so each input is written to a
// temporary file first (in /dev/shm when there is one: a disk file costs more than the parse). Checked: only EngineError escapes, with one of its three documented codes;
// an accepted config has a known architecture and positive sizes.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine/errors.h"
#include "engine/model/model_config.h"
#include "fuzz_common.h"

namespace {
char g_path[64];
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = [] {
    std::snprintf(g_path, sizeof g_path, "%s/bert-fuzz-config-XXXXXX", ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    const int fd = ::mkstemp(g_path);
    if (fd < 0) bert_fuzz::fail("mkstemp");
    ::close(fd);
    std::atexit([] { ::unlink(g_path); });
    return std::string(g_path);
  }();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) bert_fuzz::fail("fopen", path);
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    const bert::ModelConfig c = bert::ModelConfig::load(path);
    bert::Task task;
    FUZZ_CHECK(bert::task_for_architecture(c.architecture, task) && task == c.task, c.architecture);
    const bool labelled = c.task == bert::Task::kClassification || c.task == bert::Task::kTokenClassification;
    FUZZ_CHECK(!labelled || !c.labels.empty(), "a classifier without labels");
    FUZZ_CHECK(c.vocab_size > 0 && c.max_position_embeddings > 0 && c.type_vocab_size > 0, "sizes");
  } catch (const bert::EngineError& e) {
    FUZZ_CHECK(e.code() == bert::ErrorCode::kConfigInvalid || e.code() == bert::ErrorCode::kModelInvalid, e.what());
  }
  return 0;
}
