#include "core/error.hpp"

namespace swarmpod {

const char* status_name(Status status) noexcept {
    switch (status) {
        case Status::ok: return "ok";
        case Status::invalid_argument: return "invalid argument";
        case Status::invalid_config: return "invalid config";
        case Status::out_of_memory: return "out of memory";
        case Status::internal: return "internal error";
        case Status::network: return "network error";
        case Status::timeout: return "timed out";
        case Status::cancelled: return "cancelled";
        case Status::auth: return "authentication failed";
        case Status::not_found: return "not found";
        case Status::rate_limited: return "rate limited";
        case Status::server: return "server error";
        case Status::bad_response: return "bad response";
        case Status::job_failed: return "job failed";
        case Status::worker: return "worker error";
        case Status::worker_url_rejected: return "worker URL rejected";
        case Status::image_invalid: return "invalid image";
        case Status::no_api_key: return "no API key";
        case Status::tls: return "TLS error";
        case Status::too_large: return "too large";
        case Status::shutting_down: return "shutting down";
    }
    return "unknown status";
}

}  // namespace swarmpod
