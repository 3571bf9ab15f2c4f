#pragma once
// Structured logs: one line per event, `ts=... level=... event=... key=value ...`, written
// whole under a lock so concurrent lines never interleave. Values are quoted and escaped
// when needed, so no client-controlled byte can forge a field or a line. Thread-safe.
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace fleetcomm::server {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

struct LogField {
  std::string_view key;
  std::string value;
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(v) {}
  template <class Number, class = std::enable_if_t<std::is_arithmetic_v<Number>>>
  LogField(std::string_view k, Number v) : key(k), value(std::to_string(v)) {}
};

void SetLogLevel(LogLevel level);
bool ParseLogLevel(std::string_view text, LogLevel& level);
void Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});

// Escapes one value for the key=value format (exposed for tests).
std::string FormatLogValue(std::string_view value);

}  // namespace fleetcomm::server
