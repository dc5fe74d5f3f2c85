#include "worker/v1_worker.hpp"

#include <algorithm>
#include <cmath>

#include "log/log.hpp"

namespace swarmpod::worker {
namespace {

using runpod::Job;
using runpod::JobState;

constexpr int kPhaseQueued = 0;
constexpr int kPhaseStartingWorker = 1;
constexpr int kPhaseLoadingBackends = 2;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string whole_seconds(double seconds) { return std::to_string(static_cast<long long>(std::lround(seconds))); }

// Polls faster at first (a warm worker answers in well under a second) and backs off
// to the configured interval, so short waits stay short without flooding RunPod.
class PollSchedule {
public:
    explicit PollSchedule(Millis max_interval) : max_(std::max(Millis(50), max_interval)) {}
    Millis next() {
        const Millis current = std::min(interval_, max_);
        interval_ = Millis(static_cast<Millis::rep>(static_cast<double>(interval_.count()) * 1.5));
        return current;
    }

private:
    Millis interval_{200};
    Millis max_;
};

std::string describe_failure(const Job& job) {
    std::string text = job.error.empty() ? (job.output.is_null() ? "" : job.output.dump()) : job.error;
    if (text.size() > 400) text = text.substr(0, 400) + "...";
    return text.empty() ? "no error text" : text;
}

}  // namespace

V1Protocol::V1Protocol(runpod::Client& client, JobTracker& tracker, std::string api_key)
    : client_(client), tracker_(tracker), api_key_(std::move(api_key)) {}

Job V1Protocol::submit(const char* kind, const nlohmann::json& input, Deadline deadline, const CancelToken& cancel) {
    Job job = client_.run(input, deadline, &cancel);
    tracker_.add(TrackedJob{client_.endpoint_id(), job.id, kind, api_key_, Clock::now()});
    SP_DEBUG("Submitted {} job {} to endpoint {}", kind, job.id, client_.endpoint_id());
    return job;
}

bool V1Protocol::end_job(const std::string& job_id, const char* why) noexcept {
    try {
        Job job = client_.cancel(job_id, Deadline::in(Millis(15000)));
        if (!runpod::is_terminal(job.state)) {
            job = client_.status(job_id, Deadline::in(Millis(10000)));
        }
        if (runpod::is_terminal(job.state)) {
            tracker_.remove(job_id);
            SP_DEBUG("Job {} ended ({}): {}", job_id, runpod::job_state_name(job.state), why);
            return true;
        }
        SP_WARN("Job {} is still {} after cancel ({}); it will be cancelled again at shutdown", job_id,
                runpod::job_state_name(job.state), why);
    } catch (const Error& error) {
        if (error.status() == Status::not_found) {
            tracker_.remove(job_id);  // expired: nothing is running
            return true;
        }
        SP_ERROR("Could not cancel job {} ({}): {}", job_id, why, error.what());
    } catch (const std::exception& error) {
        SP_ERROR("Could not cancel job {} ({}): {}", job_id, why, error.what());
    }
    return false;
}

Lease V1Protocol::acquire(const V1Options& options, const LifecycleFn& report, const CancelToken& cancel) {
    Lease lease;
    lease.protocol = 1;
    lease.requested_at = Clock::now();
    const auto& endpoint = client_.endpoint_id();

    report(kPhaseQueued, "Waking a RunPod worker", "");
    Job wakeup = submit("wakeup", nlohmann::json{{"action", "wakeup"}}, options.startup_deadline, cancel);
    lease.wakeup_job_id = wakeup.id;
    SP_INFO("Waking a worker on endpoint {} (wakeup job {})", endpoint, wakeup.id);

    // 1. Wait for the wakeup job: it completes once a worker's SwarmUI answers.
    PollSchedule schedule(options.max_poll_interval);
    bool reported_start = false;
    while (!runpod::is_terminal(wakeup.state)) {
        if (cancel.cancelled()) {
            end_job(wakeup.id, "generation cancelled while waking a worker");
            throw Error(Status::cancelled, "The generation was cancelled while waking a RunPod worker.");
        }
        if (options.startup_deadline.expired()) {
            end_job(wakeup.id, "startup timeout");
            throw Error(Status::timeout,
                        "No RunPod worker answered the wakeup within the startup timeout (" +
                            whole_seconds(seconds_since(lease.requested_at)) +
                            " s; job " + wakeup.id +
                            "). Check the endpoint's max workers and GPU availability in the RunPod console, or raise "
                            "StartupTimeoutSec.");
        }
        if (wakeup.state == JobState::in_progress && !reported_start) {
            reported_start = true;
            report(kPhaseStartingWorker, "RunPod worker " + wakeup.worker_id + " is starting", wakeup.worker_id);
        } else {
            report(wakeup.state == JobState::in_progress ? kPhaseStartingWorker : kPhaseQueued,
                   "Waking RunPod worker (" + whole_seconds(seconds_since(lease.requested_at)) + " s)",
                   wakeup.worker_id);
        }
        cancel.wait_for(std::min(schedule.next(), options.startup_deadline.remaining()));
        if (cancel.cancelled()) continue;
        wakeup = client_.status(wakeup.id, options.startup_deadline, &cancel);
    }
    tracker_.remove(wakeup.id);
    if (wakeup.state != JobState::completed) {
        throw Error(Status::job_failed, "The RunPod wakeup job " + wakeup.id + " ended " +
                                            runpod::job_state_name(wakeup.state) + ": " + describe_failure(wakeup) +
                                            ". Check the worker logs in the RunPod console.");
    }
    const nlohmann::json& out = wakeup.output;
    if (!out.is_object() || !out.value("success", false)) {
        std::string reason = out.is_object() ? out.value("error", std::string("no error text")) : describe_failure(wakeup);
        if (reason.find("Unknown action") != std::string::npos) {
            throw Error(Status::worker, "The worker rejected the v1 'wakeup' action (" + reason +
                                            "). The endpoint runs a different worker image; set WorkerProtocol to "
                                            "\"v2\" or \"auto\".");
        }
        throw Error(Status::worker, "The worker reported a failed wakeup: " + reason);
    }
    if (!out.contains("public_url") || !out["public_url"].is_string() || out["public_url"].get<std::string>().empty()) {
        throw Error(Status::bad_response, "The wakeup job " + wakeup.id +
                                              " completed without the worker's public_url; the worker image is "
                                              "not a SwarmUI RunPod worker.");
    }
    lease.public_url = check_worker_url(out["public_url"].get<std::string>(), options.url_policy);
    lease.worker_id = out.value("worker_id", wakeup.worker_id);
    if (lease.worker_id.empty()) lease.worker_id = wakeup.worker_id;
    lease.queue_seconds = wakeup.delay_ms ? static_cast<double>(*wakeup.delay_ms) / 1000.0 : 0.0;
    lease.ready_at = Clock::now();
    SP_INFO("Worker {} woke after {:.1f} s at {}", lease.worker_id, seconds_since(lease.requested_at),
            lease.public_url);

    // 2. Hold that worker with a keepalive job. The worker is idle now, so RunPod gives
    //    the job to it; where RunPod reports the worker id we verify that.
    report(kPhaseLoadingBackends, "Worker " + lease.worker_id + " is awake; holding it for this generation",
           lease.worker_id);
    Job keepalive = submit(
        "keepalive", nlohmann::json{{"action", "keepalive"}, {"duration", options.keepalive_seconds}, {"interval", 30}},
        options.startup_deadline, cancel);
    lease.hold_job_id = keepalive.id;
    PollSchedule hold_schedule(options.max_poll_interval);
    while (keepalive.state == JobState::in_queue || keepalive.state == JobState::unknown) {
        if (cancel.cancelled() || options.startup_deadline.expired()) {
            end_job(keepalive.id, "keepalive not needed any more");
            if (cancel.cancelled()) {
                throw Error(Status::cancelled, "The generation was cancelled while holding the RunPod worker.");
            }
            throw Error(Status::timeout, "The keepalive job " + keepalive.id +
                                             " was not picked up within the startup timeout; the worker may have "
                                             "stopped. Try again, or raise the endpoint's idle timeout.");
        }
        cancel.wait_for(std::min(hold_schedule.next(), options.startup_deadline.remaining()));
        keepalive = client_.status(keepalive.id, options.startup_deadline, &cancel);
    }
    if (keepalive.state != JobState::in_progress) {
        tracker_.remove(keepalive.id);
        throw Error(Status::job_failed, "The keepalive job " + keepalive.id + " ended " +
                                            runpod::job_state_name(keepalive.state) + " before holding the worker: " +
                                            describe_failure(keepalive));
    }
    if (!keepalive.worker_id.empty() && keepalive.worker_id != lease.worker_id) {
        end_job(keepalive.id, "keepalive landed on another worker");
        throw Error(Status::worker, "The keepalive job landed on worker " + keepalive.worker_id + " instead of " +
                                        lease.worker_id +
                                        ", so the woken worker is not held. Set the endpoint's max workers to 1 for "
                                        "v1 worker images, or use a v2 worker image.");
    }
    SP_INFO("Holding worker {} with keepalive job {}", lease.worker_id, keepalive.id);
    return lease;
}

void V1Protocol::release(Lease& lease) noexcept {
    if (lease.hold_job_id.empty()) return;
    const std::string job_id = lease.hold_job_id;
    lease.released_at = Clock::now();
    if (end_job(job_id, "worker released")) {
        SP_INFO("Released worker {} (keepalive job {} cancelled; RunPod stops the worker)", lease.worker_id, job_id);
        lease.hold_job_id.clear();
    }
}

}  // namespace swarmpod::worker
