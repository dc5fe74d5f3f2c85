#include "worker/protocol.hpp"

#include <algorithm>
#include <cmath>

#include "log/log.hpp"
#include "runpod/diagnosis.hpp"

namespace swarmpod::worker {

using runpod::Job;
using runpod::JobState;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::string whole_seconds(double seconds) { return std::to_string(static_cast<long long>(std::lround(seconds))); }

std::string with_period(const std::string& sentence) {
    return !sentence.empty() && sentence.back() == '.' ? sentence : sentence + ".";
}

double estimated_billed_seconds(const Lease& lease, Clock::time_point now, double endpoint_idle_seconds) {
    if (lease.requested_at == Clock::time_point{}) return 0;
    const bool released = lease.released_at != Clock::time_point{};
    const Clock::time_point end = released ? lease.released_at : now;
    double seconds = std::chrono::duration<double>(end - lease.requested_at).count();
    if (released) seconds += endpoint_idle_seconds;
    return std::ceil(std::max(0.0, seconds));
}

PollSchedule::PollSchedule(Millis max_interval) : max_(std::max(Millis(50), max_interval)) {}

Millis PollSchedule::next() {
    const Millis current = std::min(interval_, max_);
    // Grows by half each time but never past the cap: unbounded, it would overflow after
    // about a hundred polls (the double-to-integer conversion is then undefined).
    interval_ = std::min(max_, Millis(static_cast<Millis::rep>(static_cast<double>(interval_.count()) * 1.5)));
    return current;
}

Job submit_job(AcquireContext& context, const char* kind, const nlohmann::json& input) {
    Job job = context.client.run(input, context.startup_deadline, &context.withdraw);
    context.tracker.add(TrackedJob{context.client.endpoint_id(), job.id, kind, context.api_key, Clock::now()});
    SP_DEBUG("Submitted {} job {} to endpoint {}", kind, job.id, context.client.endpoint_id());
    return job;
}

bool end_job(runpod::Client& client, JobTracker& tracker, const std::string& job_id, const char* why,
             Millis within) noexcept {
    try {
        const Deadline deadline = Deadline::in(within);
        Job job = client.cancel(job_id, deadline);
        if (!runpod::is_terminal(job.state) && !deadline.expired()) job = client.status(job_id, deadline);
        if (runpod::is_terminal(job.state)) {
            tracker.remove(job_id);
            SP_DEBUG("Job {} ended ({}): {}", job_id, runpod::job_state_name(job.state), why);
            return true;
        }
        SP_WARN("Job {} is still {} after cancel ({}); it will be cancelled again at shutdown", job_id,
                runpod::job_state_name(job.state), why);
    } catch (const Error& error) {
        if (error.status() == Status::not_found) {
            tracker.remove(job_id);  // expired: nothing runs any more
            return true;
        }
        SP_ERROR("Could not cancel job {} ({}): {}", job_id, why, error.what());
    } catch (const std::exception& error) {
        SP_ERROR("Could not cancel job {} ({}): {}", job_id, why, error.what());
    }
    return false;
}

QueueWatch::QueueWatch(AcquireContext& context) : context_(context) {}

void QueueWatch::on_poll(JobState state, const std::string& worker_id) {
    const std::string waited = whole_seconds(seconds_since(started_));
    if (state == JobState::in_progress) {
        context_.report(kPhaseStartingWorker, "RunPod worker " + worker_id + " is starting (" + waited + " s)",
                        worker_id);
        return;
    }
    if (Clock::now() >= next_health_) {
        next_health_ = Clock::now() + Millis(5000);
        try {
            // /health starts no job and bills nothing; it tells why a job waits.
            const runpod::Diagnosis diagnosis =
                runpod::diagnose(context_.client.health(Deadline::in(Millis(5000)), &context_.withdraw));
            if (diagnosis.code != "ready") diagnosis_ = diagnosis.message;
            if (diagnosis.code == "initializing") {
                context_.report(kPhaseStartingWorker, "Waking RunPod worker (" + waited + " s): " + diagnosis.message,
                                "");
                return;
            }
        } catch (const std::exception& error) {
            SP_DEBUG("Reading /health while queued failed: {}", error.what());
        }
    }
    context_.report(kPhaseQueued,
                    "Waiting for a RunPod worker (" + waited + " s)" + (diagnosis_.empty() ? "" : ": " + diagnosis_),
                    "");
}

std::string QueueWatch::timeout_message(const std::string& job_id) const {
    std::string message = "No RunPod worker was ready within the startup timeout (" +
                          whole_seconds(seconds_since(started_)) + " s; job " + job_id + ").";
    if (!diagnosis_.empty()) message += " Endpoint health: " + diagnosis_;
    message += " Check the endpoint's max workers and GPU availability in the RunPod console, or raise "
               "StartupTimeoutSec.";
    return message;
}

namespace {

bool text_has(const nlohmann::json& value, const std::string& needle) {
    if (value.is_string()) return value.get<std::string>().find(needle) != std::string::npos;
    if (value.is_object() || value.is_array()) return value.dump().find(needle) != std::string::npos;
    return false;
}

}  // namespace

bool is_v1_unknown_action(const Job& job) {
    return job.error.find("Unknown action: lease") != std::string::npos || text_has(job.output, "Unknown action: lease");
}

bool is_v2_unknown_action(const Job& job) {
    return job.error.find("unknown_action") != std::string::npos || text_has(job.output, "unknown_action");
}

}  // namespace swarmpod::worker
