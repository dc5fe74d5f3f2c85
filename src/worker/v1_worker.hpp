// Worker protocol v1 (image ...-swarmui-runpod): a `wakeup` job returns the worker's URL
// once its SwarmUI answers; a blocking `keepalive` job then holds that worker, and
// cancelling it releases the worker (RunPod stops a worker whose running job is cancelled).
#pragma once

#include <functional>
#include <string>

#include "core/cancel.hpp"
#include "core/clock.hpp"
#include "runpod/client.hpp"
#include "worker/job_tracker.hpp"
#include "worker/lease.hpp"
#include "worker/url_policy.hpp"

namespace swarmpod::worker {

struct V1Options {
    Millis max_poll_interval{2000};  // PollIntervalMs; polling starts faster and backs off to this
    Deadline startup_deadline;       // StartupTimeoutSec from the start of acquire
    int keepalive_seconds = 360;     // duration of the keepalive job
    UrlPolicy url_policy;
};

// Reports lifecycle steps: phase (SWARMPOD_PHASE_* value), a message, the worker id.
using LifecycleFn = std::function<void(int phase, const std::string& message, const std::string& worker_id)>;

class V1Protocol {
public:
    V1Protocol(runpod::Client& client, JobTracker& tracker, std::string api_key);

    // Wakes a worker and holds it with a keepalive job. On any failure, including
    // cancellation, every job it submitted is withdrawn or cancelled before it throws.
    Lease acquire(const V1Options& options, const LifecycleFn& report, const CancelToken& cancel);

    // Cancels the keepalive job so RunPod stops the worker and billing ends. Never throws;
    // a job that could not be confirmed cancelled stays in the tracker for shutdown.
    void release(Lease& lease) noexcept;

private:
    runpod::Job submit(const char* kind, const nlohmann::json& input, Deadline deadline, const CancelToken& cancel);
    // Cancels a job we no longer need and forgets it once RunPod confirms a terminal state.
    bool end_job(const std::string& job_id, const char* why) noexcept;

    runpod::Client& client_;
    JobTracker& tracker_;
    std::string api_key_;
};

}  // namespace swarmpod::worker
