// Waits until the SwarmUI on a newly held worker can generate: at least one backend
// running and none loading (ListBackends), with the failure messages users need.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/cancel.hpp"
#include "core/clock.hpp"
#include "http/client.hpp"
#include "worker/lease.hpp"
#include "worker/protocol.hpp"

namespace swarmpod::worker {

struct ReadinessLimits {
    Deadline deadline;                 // StartupTimeoutSec
    Millis errored_after{60000};       // every backend errored or disabled this long: fail with its log
    Millis no_backend_after{90000};    // no backend listed this long: fail, the image has none configured
    Millis never_answered_after{180000};  // only transport errors this long: fail, port not exposed?
    Millis max_poll_interval{2000};
};

// The backends of a ListBackends reply (full_data), keyed by backend id, by status.
struct BackendCounts {
    int total = 0;
    int running = 0;
    int loading = 0;  // "loading" or "waiting"
    int failed = 0;   // "errored" or "disabled"
    std::string failed_summary;  // "<type>=<status>" of the first failed backend
};

BackendCounts count_backends(const nlohmann::json& reply);

// Returns the last two messages of a ListRecentLogMessages reply, joined by " | " and
// cut to 600 bytes.
std::string recent_error_text(const nlohmann::json& reply);

// Returns once ready. Throws Error(worker) with the specific cause, Error(timeout), or
// the worker client's lease-ended error. Gateway 503 worker_starting and 502
// worker_upstream_down replies are waits, not failures.
void wait_until_ready(http::Client& http, const Lease& lease, const ReadinessLimits& limits, const CancelToken& cancel,
                      const LifecycleFn& report);

}  // namespace swarmpod::worker
