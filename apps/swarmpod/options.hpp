// The options of each command, their help text, and how they are parsed.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace swarmpod_cli {

// Options shared by every command that talks to RunPod.
struct ConnectionOptions {
    std::optional<std::string> endpoint;    // --endpoint
    std::optional<std::string> api_base;    // --api-base
    std::optional<std::string> api_key;     // --api-key; never printed
    std::optional<std::string> config_file; // --config
    std::optional<std::string> ca_bundle;   // --ca-bundle
    bool allow_insecure_worker_urls = false;
    bool json = false;
    bool quiet = false;
    bool verbose = false;
    std::optional<int32_t> log_level; // SWARMPOD_LOG_*, from --log-level
};

struct GenerateOptions {
    ConnectionOptions connection;
    std::optional<std::string> request_file; // --request-json; "-" is stdin
    // Request fields from --prompt, --width, --set, ... in command-line order, so a
    // later flag overrides an earlier one for the same field.
    std::vector<std::pair<std::string, nlohmann::json>> request_fields;
    std::optional<std::string> out;
    std::optional<std::string> protocol;
    std::optional<int64_t> startup_timeout_sec;
    std::optional<int64_t> generation_timeout_sec;
    std::optional<int64_t> poll_interval_ms;
    std::optional<int64_t> keep_warm_sec;
};

struct HealthOptions {
    ConnectionOptions connection;
};

// Each parser returns std::nullopt when --help was given (the caller prints the help)
// and throws UsageError for an invalid command line.
std::optional<GenerateOptions> parse_generate_options(const std::vector<std::string> &args);
std::optional<HealthOptions> parse_health_options(const std::vector<std::string> &args);

std::string main_help();
std::string generate_help();
std::string health_help();

// Returns the log level the library should use: --log-level if given, else off for
// --quiet, debug for --verbose, and info otherwise.
int32_t effective_log_level(const ConnectionOptions &options);

} // namespace swarmpod_cli
