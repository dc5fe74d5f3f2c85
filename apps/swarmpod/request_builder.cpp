#include "request_builder.hpp"

#include "errors.hpp"
#include "option_parser.hpp"

#include <swarmpod/swarmpod.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string_view>

namespace swarmpod_cli {
namespace {

std::optional<std::string> environment_value(const char *name) {
    const char *value = std::getenv(name);
    if (value == nullptr || *value == '\0') {
        return std::nullopt;
    }
    require_utf8(value, std::string("environment variable ") + name);
    return std::string(value);
}

std::string read_input(const std::string &path, const std::string &option) {
    if (path == "-") {
        return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    }
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        throw UsageError("cannot read " + option + " file '" + path + "': " + std::strerror(errno));
    }
    std::ostringstream content;
    content << file.rdbuf();
    return content.str();
}

// The nesting limit of libswarmpod (swarmpod::kMaxJsonDepth), which rejects deeper
// config and request JSON. The CLI cannot include that private header.
constexpr std::size_t kMaxJsonDepth = 256;

// Returns whether `text` has more than `max_depth` arrays or objects open at one point.
// The scan is a loop, not a parser, so 100 000 nested brackets cannot overflow the stack,
// and brackets inside strings do not count.
bool nesting_exceeds(std::string_view text, std::size_t max_depth) {
    std::size_t open = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        if (c == '"') {
            // Skip to the closing quote; a backslash makes the next character literal.
            ++i;
            while (i < text.size() && text[i] != '"') {
                i += text[i] == '\\' ? 2 : 1;
            }
        } else if (c == '[' || c == '{') {
            ++open;
            if (open > max_depth) {
                return true;
            }
        } else if ((c == ']' || c == '}') && open > 0) {
            --open;
        }
        ++i;
    }
    return false;
}

// Parses a JSON object without putting any of the file's text in the error, because
// a config file may contain an API key. Rejects text nested deeper than kMaxJsonDepth
// before parsing, because nlohmann::json recurses once per level when it copies or
// dumps a value and 100 000 levels overflow the stack.
nlohmann::json parse_object(const std::string &text, const std::string &path, const std::string &option) {
    if (const std::optional<std::size_t> offset = invalid_utf8_offset(text)) {
        throw UsageError(option + " file '" + path + "' is not valid UTF-8 (invalid byte at offset " +
                         std::to_string(*offset) + "); save it as UTF-8, as JSON requires");
    }
    if (nesting_exceeds(text, kMaxJsonDepth)) {
        throw UsageError(option + " file '" + path + "' nests arrays or objects deeper than the maximum of " +
                         std::to_string(kMaxJsonDepth) + " levels");
    }
    try {
        nlohmann::json parsed = nlohmann::json::parse(text);
        if (!parsed.is_object()) {
            throw UsageError(option + " file '" + path + "' must contain a JSON object");
        }
        return parsed;
    } catch (const nlohmann::json::parse_error &e) {
        throw UsageError("invalid JSON in " + option + " file '" + path + "' at byte " + std::to_string(e.byte));
    }
}

} // namespace

BackendSetup build_backend_setup(const ConnectionOptions &options) {
    BackendSetup setup;
    setup.config = nlohmann::json::object();
    if (options.config_file) {
        setup.config = parse_object(read_input(*options.config_file, "--config"), *options.config_file, "--config");
        const auto stored_key = setup.config.find("RunPodApiKey");
        if (stored_key != setup.config.end() && stored_key->is_string()) {
            add_secret(stored_key->get<std::string>());
        }
    }
    nlohmann::json &config = setup.config;

    if (options.endpoint) {
        config["EndpointId"] = *options.endpoint;
    } else if (const auto endpoint = environment_value("SWARMPOD_ENDPOINT")) {
        config["EndpointId"] = *endpoint;
    } else if (!config.contains("EndpointId")) {
        throw UsageError("missing endpoint; give --endpoint ID or set SWARMPOD_ENDPOINT");
    }

    // The key goes to the library as the per-call argument so it is never stored in
    // the backend config. The library tries the config's RunPodApiKey first, so a
    // key from the command line or environment must remove the one from --config.
    if (options.api_key) {
        setup.api_key = *options.api_key;
    } else if (const auto key = environment_value("RUNPOD_API_KEY")) {
        setup.api_key = *key;
    }
    if (setup.api_key) {
        config.erase("RunPodApiKey");
    }

    if (options.api_base) {
        config["ApiBaseUrl"] = *options.api_base;
    }
    if (options.ca_bundle) {
        config["CaBundle"] = *options.ca_bundle;
    }
    if (options.allow_insecure_worker_urls) {
        config["AllowInsecureWorkerUrls"] = true;
    }
    return setup;
}

std::string missing_api_key_message(const BackendSetup &setup) {
    if (setup.api_key) {
        return "";
    }
    const auto stored_key = setup.config.find("RunPodApiKey");
    if (stored_key == setup.config.end()) {
        return "missing RunPod API key; pass --api-key KEY or set RUNPOD_API_KEY";
    }
    if (stored_key->is_string() && stored_key->get<std::string>().empty()) {
        return "missing RunPod API key: RunPodApiKey in the --config file is empty; set it there, pass --api-key "
               "KEY or set RUNPOD_API_KEY";
    }
    // Any other value goes to the library, which names the field when the value is invalid.
    return "";
}

std::string with_flag_hint(int32_t status, const std::string &message) {
    static const std::pair<const char *, const char *> kFlagOfField[] = {
        {"EndpointId", "--endpoint"},
        {"ApiBaseUrl", "--api-base"},
        {"RunPodApiKey", "--api-key"},
        {"CaBundle", "--ca-bundle"},
        {"AllowInsecureWorkerUrls", "--allow-insecure-worker-urls"},
        {"WorkerProtocol", "--protocol"},
        {"StartupTimeoutSec", "--startup-timeout"},
        {"GenerationTimeoutSec", "--generation-timeout"},
        {"PollIntervalMs", "--poll-interval-ms"},
        {"KeepWarmSec", "--keep-warm"},
    };
    const auto hint = [&message](const char *field, const char *flag) {
        return message + " (" + flag + " sets " + field + ")";
    };
    if (status == SWARMPOD_E_WORKER_URL_REJECTED) {
        return hint("AllowInsecureWorkerUrls", "--allow-insecure-worker-urls");
    }
    // The library's key advice names SwarmUI's settings; the CLI takes the key elsewhere.
    if (status == SWARMPOD_E_AUTH || status == SWARMPOD_E_NO_API_KEY) {
        return message + " (the CLI reads the key from --api-key or RUNPOD_API_KEY)";
    }
    for (const auto &[field, flag] : kFlagOfField) {
        const std::string name = field;
        // The library's config messages start with the field they are about.
        if (message.compare(0, name.size(), name) == 0) {
            return hint(field, flag);
        }
    }
    // Other messages name the field to change in their advice, such as ApiBaseUrl for an
    // unreachable API base or WorkerProtocol for a worker of the other protocol.
    for (const auto &[field, flag] : kFlagOfField) {
        if (message.find(field) != std::string::npos) {
            return hint(field, flag);
        }
    }
    return message;
}

void add_generate_settings(const GenerateOptions &options, nlohmann::json &config) {
    if (options.protocol) {
        config["WorkerProtocol"] = *options.protocol;
    }
    if (options.startup_timeout_sec) {
        config["StartupTimeoutSec"] = *options.startup_timeout_sec;
    }
    if (options.generation_timeout_sec) {
        config["GenerationTimeoutSec"] = *options.generation_timeout_sec;
    }
    if (options.poll_interval_ms) {
        config["PollIntervalMs"] = *options.poll_interval_ms;
    }
    if (options.keep_warm_sec) {
        config["KeepWarmSec"] = *options.keep_warm_sec;
    }
}

nlohmann::json build_request(const GenerateOptions &options) {
    nlohmann::json request = nlohmann::json::object();
    if (options.request_file) {
        const std::string &path = *options.request_file;
        request = parse_object(read_input(path, "--request-json"), path == "-" ? "stdin" : path, "--request-json");
    }
    for (const auto &[key, value] : options.request_fields) {
        request[key] = value;
    }
    if (!request.contains("images")) {
        request["images"] = 1;
    }
    if (!request.contains("prompt")) {
        throw UsageError("missing prompt; give --prompt TEXT or a \"prompt\" field in --request-json");
    }
    return request;
}

} // namespace swarmpod_cli
