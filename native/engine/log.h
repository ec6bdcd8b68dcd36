// The engine's one way to report something that is not an answer (a probe that fell back, a batch
// that failed, a worker that could not start): a level, a message and fields, handed to the log
// sink of the calling thread. The addon installs a sink that forwards each record to the JS logger
// (native/addon/engine_wrap.cc), so native messages come out in the server's log format with the
// rest. Without a sink (C++ tests, bench/engine_limit, after the engine's JS side is gone) the
// record is written to stderr as one JSON line in that same format: {"time","level","msg",...fields,
// "source":"engine"}. Nothing in native/engine writes to stderr otherwise.
//
// Threading: the sink is per thread. Threads the engine starts inherit the sink of the thread that
// starts them (LogScope, in Engine::load for the prep thread and Scheduler::start for the workers),
// so an engine's messages reach its own logger. Sinks are called from engine threads and must be
// thread-safe and not throw. Header-only: the scheduler (torch-free) and the engine both use it.
#pragma once
#include <chrono>
#include <cstdio>
#include <ctime>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "engine/json_writer.h"

namespace bert {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

inline const char* log_level_name(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "error";
}

// One field of a record: a key and its value as JSON (a string or a number).
struct LogField {
  LogField(const char* k, const std::string& v) : key(k) { JsonWriter(json).str(v); }
  LogField(const char* k, const char* v) : key(k) { JsonWriter(json).str(v); }
  template <typename N, typename = std::enable_if_t<std::is_arithmetic_v<N>>>
  LogField(const char* k, N v) : key(k) {
    if constexpr (std::is_integral_v<N>)
      JsonWriter(json).integer(static_cast<int64_t>(v));
    else
      JsonWriter(json).number(static_cast<double>(v));
  }
  const char* key;
  std::string json;
};

// The fields as the members of a JSON object: "k":v,"k2":v2.
inline std::string log_fields_json(std::initializer_list<LogField> fields) {
  std::string out;
  JsonWriter w(out);
  for (const auto& f : fields) {
    if (!out.empty()) w.ch(',');
    w.str(f.key);
    w.ch(':');
    w.raw(f.json);
  }
  return out;
}

class LogSink {
 public:
  virtual ~LogSink() = default;
  // `fields`: the members of a JSON object, without braces (log_fields_json). Must not throw.
  virtual void write(LogLevel level, const std::string& message, const std::string& fields) noexcept = 0;
};

inline std::shared_ptr<LogSink>& thread_log_sink() {
  thread_local std::shared_ptr<LogSink> sink;
  return sink;
}

// Installs `sink` on the calling thread for the scope's lifetime (then restores the previous one).
class LogScope {
 public:
  explicit LogScope(std::shared_ptr<LogSink> sink) : previous_(std::exchange(thread_log_sink(), std::move(sink))) {}
  ~LogScope() { thread_log_sink() = std::move(previous_); }
  LogScope(const LogScope&) = delete;
  LogScope& operator=(const LogScope&) = delete;

 private:
  std::shared_ptr<LogSink> previous_;
};

// The fallback: one JSON line on stderr, as the JS logger writes it.
inline void log_to_stderr(LogLevel level, const std::string& message, const std::string& fields) noexcept {
  try {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char time[64];
    std::snprintf(time, sizeof time, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                  tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    std::string line = "{\"time\":\"";
    line += time;
    line += "\",\"level\":\"";
    line += log_level_name(level);
    line += "\",\"msg\":";
    JsonWriter(line).str(message);
    if (!fields.empty()) line += "," + fields;
    line += ",\"source\":\"engine\"}\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
  } catch (...) {
    // Out of memory while reporting: nothing sensible left to do with the line.
  }
}

inline void log_event(LogLevel level, const std::string& message, std::initializer_list<LogField> fields = {}) noexcept {
  try {
    const std::string members = log_fields_json(fields);
    if (const auto& sink = thread_log_sink())
      sink->write(level, message, members);
    else
      log_to_stderr(level, message, members);
  } catch (...) {
  }
}

}  // namespace bert
