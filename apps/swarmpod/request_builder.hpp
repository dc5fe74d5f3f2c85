// Builds the backend config JSON and the GenerateText2Image request JSON from the
// command line, the environment and the files the options name.
#pragma once

#include "options.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace swarmpod_cli {

struct BackendSetup {
    nlohmann::json config;          // for swarmpod_backend_new; contains no key from a flag or env
    std::optional<std::string> api_key; // the per-call api_key argument, if any
};

// Resolves each setting as: flag, then environment variable, then --config file.
// Only settings the user gave are included, so the library's defaults apply to
// the rest. Throws UsageError when the endpoint is missing or a file is unreadable.
BackendSetup build_backend_setup(const ConnectionOptions &options);

// Returns the message for a missing API key when neither the command line, the
// environment nor the --config file gives one, or "" when a key is present.
std::string missing_api_key_message(const BackendSetup &setup);

// Returns `message` with the CLI flag named, e.g. "(--poll-interval-ms sets
// PollIntervalMs)", when the library's message names a config field that has a
// flag (the field it starts with first), or when the worker URL was rejected.
std::string with_flag_hint(int32_t status, const std::string &message);

// Adds the generate-only settings (protocol, timeouts, keep-warm) to `config`.
void add_generate_settings(const GenerateOptions &options, nlohmann::json &config);

// Returns the request: --request-json (or an empty object), then each field flag in
// command-line order, with "images" defaulting to 1. Throws UsageError when the file
// is unreadable or not a JSON object, or when no prompt is given.
nlohmann::json build_request(const GenerateOptions &options);

} // namespace swarmpod_cli
