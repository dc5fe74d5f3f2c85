// Backend settings: parsed from the JSON object given to swarmpod_backend_new and
// validated once, so every later step can trust them.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace swarmpod::backend {

enum class WorkerProtocol { automatic, v1, v2 };

const char* worker_protocol_name(WorkerProtocol protocol) noexcept;

struct Config {
    std::string endpoint_id;
    std::string api_key;  // RunPodApiKey; empty = use the per-call key
    std::string api_base_url = "https://api.runpod.ai/v2";
    bool use_async = true;
    int max_concurrent = 10;
    int poll_interval_ms = 2000;
    int startup_timeout_sec = 120;
    int generation_timeout_sec = 300;
    bool auto_refresh = false;
    // A worker goes straight to a request already waiting, so keep-warm time only pays
    // off when the next request comes within it. 10 s covers requests a few seconds
    // apart. On a bursty trace (docs/benchmarks.md) 20 and 30 s billed 11-26% more than
    // 10 s for the same latency.
    int keep_warm_sec = 5;
    WorkerProtocol worker_protocol = WorkerProtocol::automatic;
    bool allow_insecure_worker_urls = false;
    std::string ca_bundle;
    bool use_websocket = true;
    // Largest WebSocket message accepted, in MiB. One message carries one image as base64
    // (4/3 of its size): an incompressible 4096 x 4096 RGBA PNG is about 85 MiB that way.
    int max_websocket_message_mib = 256;
    std::string model_cache_path;
    double cost_per_gpu_second = 0.0;
};

// Parses and validates settings. Throws Error(invalid_config) whose message names the
// field, the value at fault and the accepted range or form. Unknown fields are
// rejected with the list of known ones.
Config parse_config(const std::string& json_text);

// The config as JSON with the API key left out; for status snapshots and logs.
nlohmann::json describe_config(const Config& config);

}  // namespace swarmpod::backend
