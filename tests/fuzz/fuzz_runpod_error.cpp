// runpod::map_http_error on any non-2xx body: the first two bytes pick the HTTP status,
// the rest is the body (JSON, HTML or anything else).
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "runpod/client.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const long status = 100 + (static_cast<long>(data[0]) << 8 | data[1]) % 500;
    const std::string body(reinterpret_cast<const char*>(data + 2), size - 2);
    // A job operation, and one without a job id on a base with and without RunPod's /v2 path.
    const swarmpod::Error job_error =
        swarmpod::runpod::map_http_error(status, body, "endpoint-1", "/status", "https://api.runpod.ai/v2");
    (void)job_error.what();
    const swarmpod::Error run_error =
        swarmpod::runpod::map_http_error(status, body, "endpoint-1", "/run", "https://api.runpod.ai/v2");
    (void)run_error.what();
    const swarmpod::Error other_base_error =
        swarmpod::runpod::map_http_error(status, body, "endpoint-1", "/health", "http://127.0.0.1:8080/api");
    (void)other_base_error.what();
    return 0;
}
