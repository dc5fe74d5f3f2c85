#include "backend/config.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "core/error.hpp"
#include "core/host.hpp"
#include "core/json_limits.hpp"

namespace swarmpod::backend {
namespace {

using nlohmann::json;

// Bounds the memory of one message plus the image decoded from it (3/4 of its size) to 3.5 GiB.
constexpr int kMaxWebSocketMessageMiB = 2048;

[[noreturn]] void fail(const std::string& message) { throw Error(Status::invalid_config, message); }

std::string type_name(const json& value) {
    if (value.is_null()) return "null";
    if (value.is_boolean()) return "a boolean";
    if (value.is_number()) return "a number";
    if (value.is_string()) return "a string";
    if (value.is_array()) return "an array";
    return "an object";
}

std::string read_string(const json& value, const char* field) {
    if (!value.is_string()) fail(std::string(field) + " must be a string, got " + type_name(value) + ".");
    return value.get<std::string>();
}

bool read_bool(const json& value, const char* field) {
    if (value.is_boolean()) return value.get<bool>();
    // SwarmUI's settings serialise booleans as strings in some paths; accept those too.
    if (value.is_string()) {
        std::string text = value.get<std::string>();
        std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return char(std::tolower(c)); });
        if (text == "true") return true;
        if (text == "false") return false;
    }
    fail(std::string(field) + " must be true or false, got " + value.dump() + ".");
}

int read_int(const json& value, const char* field, long long min, long long max) {
    long long number = 0;
    if (value.is_number_integer()) {
        number = value.get<long long>();
    } else if (value.is_number_float() && std::fabs(value.get<double>()) < 1e15 &&
               value.get<double>() == std::floor(value.get<double>())) {
        // Checked against the range first: converting a double outside long long's range
        // is undefined behaviour (found by fuzz_config with 5e81).
        number = static_cast<long long>(value.get<double>());
    } else if (value.is_number_float() && value.get<double>() == std::floor(value.get<double>())) {
        fail(std::string(field) + " must be between " + std::to_string(min) + " and " + std::to_string(max) +
             ", got " + value.dump() + ".");
    } else {
        fail(std::string(field) + " must be a whole number, got " + type_name(value) + " " + value.dump() + ".");
    }
    if (number < min || number > max) {
        std::ostringstream message;
        message << field << " must be between " << min << " and " << max << ", got " << number << ".";
        fail(message.str());
    }
    return static_cast<int>(number);
}

double read_number(const json& value, const char* field, double min, double max) {
    if (!value.is_number()) fail(std::string(field) + " must be a number, got " + type_name(value) + ".");
    double number = value.get<double>();
    if (!(number >= min && number <= max)) {
        std::ostringstream message;
        message << field << " must be between " << min << " and " << max << ", got " << number << ".";
        fail(message.str());
    }
    return number;
}

bool is_valid_endpoint_id(const std::string& id) {
    if (id.empty() || id.size() > 128) return false;
    return std::all_of(id.begin(), id.end(), [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; });
}

void validate_base_url(const std::string& url) {
    const bool https = url.rfind("https://", 0) == 0;
    const bool http = url.rfind("http://", 0) == 0;
    if (!https && !http) {
        fail("ApiBaseUrl must start with https:// (or http:// for a local test server), got '" + url + "'.");
    }
    const std::string rest = url.substr(https ? 8 : 7);
    const std::string host_port = rest.substr(0, rest.find('/'));
    if (host_port.empty()) fail("ApiBaseUrl has no host: '" + url + "'.");
    if (host_port.find('@') != std::string::npos) fail("ApiBaseUrl must not contain credentials.");
    if (http) {
        // The API key travels in a header, so plain HTTP is allowed only to this machine
        // (the local emulator). Anything else would send the key in clear text.
        std::string host = host_port;
        if (host.rfind('[', 0) == 0) {
            host = host.substr(0, host.find(']') + 1);
        } else {
            host = host.substr(0, host.find(':'));
        }
        std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return char(std::tolower(c)); });
        const bool loopback = is_loopback_host(host);
        if (!loopback) {
            fail("ApiBaseUrl must use https:// for '" + host +
                 "': plain http:// is accepted only for a local emulator on 127.0.0.1, ::1 or localhost.");
        }
    }
}

}  // namespace

const char* worker_protocol_name(WorkerProtocol protocol) noexcept {
    switch (protocol) {
        case WorkerProtocol::automatic: return "auto";
        case WorkerProtocol::v1: return "v1";
        case WorkerProtocol::v2: return "v2";
    }
    return "auto";
}

Config parse_config(const std::string& json_text) {
    if (json_depth_exceeds(json_text)) {
        fail("The backend config nests arrays or objects deeper than " + std::to_string(kMaxJsonDepth) +
             " levels; pass a flat JSON object such as {\"EndpointId\": \"abc123\"}.");
    }
    json root = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded()) fail("The backend config is not valid JSON; pass a JSON object such as {\"EndpointId\": \"abc123\"}.");
    if (!root.is_object()) fail("The backend config must be a JSON object, got " + type_name(root) + ".");

    Config config;
    using Setter = std::function<void(const json&)>;
    const std::map<std::string, Setter> setters = {
        {"EndpointId", [&](const json& v) { config.endpoint_id = read_string(v, "EndpointId"); }},
        {"RunPodApiKey", [&](const json& v) { config.api_key = v.is_null() ? "" : read_string(v, "RunPodApiKey"); }},
        {"ApiBaseUrl", [&](const json& v) { config.api_base_url = read_string(v, "ApiBaseUrl"); }},
        {"UseAsync", [&](const json& v) { config.use_async = read_bool(v, "UseAsync"); }},
        {"MaxConcurrent", [&](const json& v) { config.max_concurrent = read_int(v, "MaxConcurrent", 1, 64); }},
        {"PollIntervalMs", [&](const json& v) { config.poll_interval_ms = read_int(v, "PollIntervalMs", 50, 60000); }},
        {"StartupTimeoutSec", [&](const json& v) { config.startup_timeout_sec = read_int(v, "StartupTimeoutSec", 1, 3600); }},
        {"GenerationTimeoutSec",
         [&](const json& v) { config.generation_timeout_sec = read_int(v, "GenerationTimeoutSec", 1, 86400); }},
        {"AutoRefresh", [&](const json& v) { config.auto_refresh = read_bool(v, "AutoRefresh"); }},
        {"KeepWarmSec", [&](const json& v) { config.keep_warm_sec = read_int(v, "KeepWarmSec", 0, 3600); }},
        {"WorkerProtocol",
         [&](const json& v) {
             const std::string text = read_string(v, "WorkerProtocol");
             if (text == "auto" || text.empty()) config.worker_protocol = WorkerProtocol::automatic;
             else if (text == "v1") config.worker_protocol = WorkerProtocol::v1;
             else if (text == "v2") config.worker_protocol = WorkerProtocol::v2;
             else fail("WorkerProtocol must be \"auto\", \"v1\" or \"v2\", got \"" + text + "\".");
         }},
        {"AllowInsecureWorkerUrls",
         [&](const json& v) { config.allow_insecure_worker_urls = read_bool(v, "AllowInsecureWorkerUrls"); }},
        {"CaBundle", [&](const json& v) { config.ca_bundle = v.is_null() ? "" : read_string(v, "CaBundle"); }},
        {"UseWebSocket", [&](const json& v) { config.use_websocket = read_bool(v, "UseWebSocket"); }},
        {"MaxWebSocketMessageMiB",
         [&](const json& v) {
             config.max_websocket_message_mib = read_int(v, "MaxWebSocketMessageMiB", 1, kMaxWebSocketMessageMiB);
         }},
        {"ModelCachePath",
         [&](const json& v) { config.model_cache_path = v.is_null() ? "" : read_string(v, "ModelCachePath"); }},
        {"CostPerGpuSecond",
         [&](const json& v) { config.cost_per_gpu_second = read_number(v, "CostPerGpuSecond", 0.0, 100.0); }},
    };

    for (const auto& [key, value] : root.items()) {
        auto setter = setters.find(key);
        if (setter == setters.end()) {
            std::string known;
            for (const auto& entry : setters) known += (known.empty() ? "" : ", ") + entry.first;
            fail("Unknown config field '" + key + "'. Known fields: " + known + ".");
        }
        setter->second(value);
    }

    if (config.endpoint_id.empty()) {
        fail("EndpointId is empty: set it to the ID of your RunPod Serverless endpoint (shown on the endpoint's page "
             "in the RunPod console).");
    }
    if (!is_valid_endpoint_id(config.endpoint_id)) {
        fail("EndpointId '" + config.endpoint_id +
             "' is invalid: an endpoint ID has only letters, digits, '-' and '_' (up to 128 characters).");
    }
    while (!config.api_base_url.empty() && config.api_base_url.back() == '/') config.api_base_url.pop_back();
    validate_base_url(config.api_base_url);
    if (!config.ca_bundle.empty() && !std::ifstream(config.ca_bundle).good()) {
        fail("CaBundle '" + config.ca_bundle + "' cannot be read: give the path of a PEM file with the CA certificates "
             "to trust, or leave CaBundle empty to use the system's.");
    }
    return config;
}

nlohmann::json describe_config(const Config& config) {
    return json{
        {"EndpointId", config.endpoint_id},
        {"ApiBaseUrl", config.api_base_url},
        {"HasBackendApiKey", !config.api_key.empty()},
        {"UseAsync", config.use_async},
        {"MaxConcurrent", config.max_concurrent},
        {"PollIntervalMs", config.poll_interval_ms},
        {"StartupTimeoutSec", config.startup_timeout_sec},
        {"GenerationTimeoutSec", config.generation_timeout_sec},
        {"AutoRefresh", config.auto_refresh},
        {"KeepWarmSec", config.keep_warm_sec},
        {"WorkerProtocol", worker_protocol_name(config.worker_protocol)},
        {"AllowInsecureWorkerUrls", config.allow_insecure_worker_urls},
        {"UseWebSocket", config.use_websocket},
        {"MaxWebSocketMessageMiB", config.max_websocket_message_mib},
        {"CostPerGpuSecond", config.cost_per_gpu_second},
    };
}

}  // namespace swarmpod::backend
