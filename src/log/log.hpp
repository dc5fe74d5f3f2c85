// The library's one named logger, its host callback sink, and secret redaction.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace swarmpod::log {

// The "swarmpod" logger. It never is spdlog's default logger, and logs nothing until
// the host sets a callback (swarmpod_set_log_callback).
spdlog::logger& logger();

using HostCallback = void (*)(void* user_data, int level, const char* message);
void set_host_callback(HostCallback callback, void* user_data, int min_level);

// Registers a secret (API key, worker token) to be replaced by "***" in every log
// line and every error message that leaves the library. Strings shorter than 6
// characters are ignored, because replacing them would mangle ordinary text.
void add_secret(const std::string& secret);
// Removes a secret that no longer needs redaction (a released lease's token).
void remove_secret(const std::string& secret);
// Returns `text` with every registered secret, and every "Bearer <x>" value, masked.
std::string redact(std::string_view text);

}  // namespace swarmpod::log

#define SP_TRACE(...) ::swarmpod::log::logger().trace(__VA_ARGS__)
#define SP_DEBUG(...) ::swarmpod::log::logger().debug(__VA_ARGS__)
#define SP_INFO(...) ::swarmpod::log::logger().info(__VA_ARGS__)
#define SP_WARN(...) ::swarmpod::log::logger().warn(__VA_ARGS__)
#define SP_ERROR(...) ::swarmpod::log::logger().error(__VA_ARGS__)
