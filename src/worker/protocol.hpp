// Shared context, helpers and waits of the two worker protocols.
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

// Reports lifecycle steps: phase (SWARMPOD_PHASE_* value), a message, the worker id.
using LifecycleFn = std::function<void(int phase, const std::string& message, const std::string& worker_id)>;

constexpr int kPhaseQueued = 0;
constexpr int kPhaseStartingWorker = 1;
constexpr int kPhaseLoadingBackends = 2;

struct AcquireContext {
    runpod::Client& client;
    JobTracker& tracker;
    std::string api_key;        // kept with tracked jobs so they can be cancelled at shutdown
    Millis max_poll_interval{2000};
    Deadline startup_deadline;
    UrlPolicy url_policy;
    // Fired when no request needs this worker any more. A job still IN_QUEUE is then
    // withdrawn; a job already IN_PROGRESS is kept, because its worker already bills.
    const CancelToken& withdraw;
    // Fired at shutdown: every wait and call stops, and the jobs submitted so far are ended.
    // Shutdown fires `withdraw` too.
    const CancelToken& abort;
    LifecycleFn report;
    // v2 lease limits asked of the worker (seconds).
    int idle_seconds = 120;
    int startup_grace_seconds = 600;
    int max_lease_seconds = 3600;
    // v1 keepalive window (seconds).
    int keepalive_seconds = 3600;
    // The endpoint's idle timeout as swarmpod assumes it (seconds): a v1 worker idle for
    // longer after its wakeup has probably been stopped by RunPod.
    double endpoint_idle_seconds = 5;
};

// Thrown when the worker replies with the other protocol's unknown-action error.
class ProtocolMismatch : public Error {
public:
    ProtocolMismatch(int actual_protocol, const std::string& message)
        : Error(Status::worker, message), actual_protocol_(actual_protocol) {}
    int actual_protocol() const noexcept { return actual_protocol_; }

    // Records the rejected job: when it was submitted and the worker that ran it ("" when
    // RunPod did not report one). That job may have booted the worker, so the next
    // acquisition's cold start and billing start at its submission.
    void set_probe_job(Clock::time_point submitted_at, std::string worker_id) {
        probe_submitted_at_ = submitted_at;
        probe_worker_id_ = std::move(worker_id);
    }
    Clock::time_point probe_submitted_at() const noexcept { return probe_submitted_at_; }
    const std::string& probe_worker_id() const noexcept { return probe_worker_id_; }

private:
    int actual_protocol_;
    Clock::time_point probe_submitted_at_{};
    std::string probe_worker_id_;
};

// Polls faster at first (a warm worker answers within a second) and backs off to the
// configured interval, so short waits stay short without flooding RunPod.
class PollSchedule {
public:
    explicit PollSchedule(Millis max_interval);
    Millis next();

private:
    Millis interval_{150};
    Millis max_;
};

// Submits a job and records it in the tracker.
runpod::Job submit_job(AcquireContext& context, const char* kind, const nlohmann::json& input);

// Cancels a job we no longer need and forgets it once RunPod confirms a terminal
// state, all within `within` (the cancel and, when needed, one status read). Never
// throws; returns false when the end could not be confirmed.
bool end_job(runpod::Client& client, JobTracker& tracker, const std::string& job_id, const char* why,
             Millis within = Millis(15000)) noexcept;

// Watches a queued job's wait: every few seconds reads the endpoint's /health and
// reports the case (no workers, initializing, throttled, unhealthy, busy). Keeps the
// last diagnosis for the timeout message.
class QueueWatch {
public:
    explicit QueueWatch(AcquireContext& context);
    // Called on each poll while the job is queued or starting.
    void on_poll(runpod::JobState state, const std::string& worker_id);
    // The timeout message, with the last diagnosis.
    std::string timeout_message(const std::string& job_id) const;

private:
    AcquireContext& context_;
    Clock::time_point started_ = Clock::now();
    Clock::time_point next_health_ = Clock::now() + Millis(1500);
    std::string diagnosis_;
};

double seconds_since(Clock::time_point start);
std::string whole_seconds(double seconds);
// Returns `sentence` ending in one period: a progress message may already end in one.
std::string with_period(const std::string& sentence);

// True when a job's error or output carries the v1 worker's "Unknown action: lease" reply.
bool is_v1_unknown_action(const runpod::Job& job);
// True when it carries the v2 worker's unknown_action reply.
bool is_v2_unknown_action(const runpod::Job& job);

}  // namespace swarmpod::worker
