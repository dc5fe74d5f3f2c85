#include "worker/v1_worker.hpp"

#include <algorithm>
#include <thread>

#include "log/log.hpp"
#include "worker/status_reads.hpp"
#include "worker/worker_outputs.hpp"

namespace swarmpod::worker {
namespace {

using runpod::Job;
using runpod::JobState;

// Tries to wake a worker and hold it. A try fails when the woken worker was idle too
// long to be held, or when the keepalive lands on another worker whose URL cannot be
// derived. Ending that keepalive stops its worker, so the next try finds one idle
// worker fewer.
constexpr int kMaxHoldTries = 3;

// Status reads of a wakeup job that may wait for a reply at once. Started one poll
// interval apart, they cover replies up to this many intervals slow.
// NOTE: when every reply is slower than the endpoint's idle timeout plus this many poll
// intervals, each try reads its wakeup's end too late, and the acquisition fails after
// kMaxHoldTries tries.
constexpr int kMaxWakeupReadsInFlight = 8;

// Polls until the job leaves the queue or ends, withdrawing it when asked to while it
// is still queued.
Job wait_until_picked(AcquireContext& context, Job job, QueueWatch& watch, const char* kind) {
    PollSchedule schedule(context.max_poll_interval);
    while (job.state == JobState::in_queue || job.state == JobState::unknown) {
        if (context.withdraw.cancelled()) {
            end_job(context.client, context.tracker, job.id, "withdrawn while queued");
            throw Error(Status::cancelled, std::string("The ") + kind + " job was withdrawn while queued.");
        }
        if (context.startup_deadline.expired()) {
            end_job(context.client, context.tracker, job.id, "startup timeout");
            throw Error(Status::timeout, watch.timeout_message(job.id));
        }
        watch.on_poll(job.state, job.worker_id);
        context.withdraw.wait_for(std::min(schedule.next(), context.startup_deadline.remaining()));
        // Poll without the withdraw token: a withdrawal is handled above, after a fresh status.
        job = context.client.status(job.id, context.startup_deadline, &context.abort);
    }
    return job;
}

// Waits until the wakeup job has ended. The caller ends the job when this throws.
// RunPod stops the woken worker once it has been idle for the endpoint's idle timeout
// (5 s by default), so the keepalive must follow quickly. The status reads overlap, so
// a slow reply delays seeing the end by about one poll interval, not by its own delay.
Job wait_for_wakeup(AcquireContext& context, Job job, QueueWatch& watch) {
    PollSchedule schedule(context.max_poll_interval);
    OverlappingStatusReads reads(context.client, job.id, context.startup_deadline, kMaxWakeupReadsInFlight);
    while (!runpod::is_terminal(job.state)) {
        const bool queued = job.state == JobState::in_queue || job.state == JobState::unknown;
        // Once RunPod has given the job to a worker, that worker bills, so the job is no
        // longer withdrawn.
        if (queued && context.withdraw.cancelled()) {
            throw Error(Status::cancelled, "The wakeup job was withdrawn while queued.");
        }
        if (context.startup_deadline.expired()) throw Error(Status::timeout, watch.timeout_message(job.id));
        watch.on_poll(job.state, job.worker_id);
        const Millis interval = std::min(schedule.next(), context.startup_deadline.remaining());
        if (queued) {
            context.withdraw.wait_for(interval);
        } else {
            context.abort.wait_for(interval);
        }
        if (context.abort.cancelled()) {
            throw Error(Status::shutting_down, "Stopped waiting for the wakeup job: the backend is shutting down.");
        }
        reads.start();
        // A reply that takes longer than this is taken at a later turn.
        if (std::optional<Job> reply = reads.wait_for_reply(interval, context.abort)) {
            if (job_progress_rank(reply->state) >= job_progress_rank(job.state)) job = std::move(*reply);
        }
    }
    return job;
}

// The RunPod proxy URL of a worker is https://<worker id>-<port>.proxy.runpod.net, so
// from one worker's URL and another worker's id we can address the other worker.
std::string url_for_other_worker(const std::string& known_url, const std::string& known_id, const std::string& other_id) {
    const std::string prefix = "https://" + known_id + "-";
    if (known_id.empty() || other_id.empty() || known_url.rfind(prefix, 0) != 0) return "";
    return "https://" + other_id + "-" + known_url.substr(prefix.size());
}

Job submit_keepalive(AcquireContext& context) {
    return submit_job(context, "keepalive",
                      nlohmann::json{{"action", "keepalive"}, {"duration", context.keepalive_seconds}, {"interval", 30}});
}

// A worker that completed our wakeup job, and since when it has been idle.
struct WokenWorker {
    std::string worker_id;
    std::string public_url;  // checked against the allow-list
    Clock::time_point idle_since;
};

// Submits a wakeup job and waits for the worker's URL. Ends the job on any failure
// before it throws. Throws ProtocolMismatch when a v2 worker rejects the action.
WokenWorker wake_worker(AcquireContext& context, QueueWatch& watch, Lease& lease) {
    const Clock::time_point submitting = Clock::now();
    Job wakeup = submit_job(context, "wakeup", nlohmann::json{{"action", "wakeup"}});
    const Clock::time_point submitted = Clock::now();
    lease.wakeup_job_id = wakeup.id;
    SP_INFO("Waking a worker on endpoint {} (wakeup job {})", context.client.endpoint_id(), wakeup.id);

    try {
        wakeup = wait_for_wakeup(context, wakeup, watch);
    } catch (...) {
        end_job(context.client, context.tracker, wakeup.id, "wakeup not finished");
        throw;
    }
    context.tracker.remove(wakeup.id);
    lease.picked_at = Clock::now();

    WakeupOutput output;
    try {
        output = parse_wakeup_output(wakeup);
    } catch (ProtocolMismatch& mismatch) {
        mismatch.set_probe_job(submitting, wakeup.worker_id);
        throw;
    }

    WokenWorker woken;
    woken.public_url = check_worker_url(output.public_url, context.url_policy);
    woken.worker_id = output.worker_id;
    lease.queue_seconds = wakeup.delay_ms ? static_cast<double>(*wakeup.delay_ms) / 1000.0 : 0.0;
    // RunPod counts the queue and run times from its receipt of the job, which comes
    // before `submitted`, so this idle start is late, never early.
    woken.idle_since = Clock::now();
    if (wakeup.delay_ms && wakeup.execution_ms) {
        woken.idle_since = std::min(woken.idle_since, submitted + Millis(*wakeup.delay_ms + *wakeup.execution_ms));
    }
    return woken;
}

// Submits a keepalive and waits until it runs. Returns true when it holds the woken
// worker named in `lease`, or another worker whose URL can be derived (`lease` then
// names that worker). Returns false, after ending the keepalive, when it runs on a
// worker whose URL is unknown; `landed_on` then names that worker.
bool hold_woken_worker(AcquireContext& context, QueueWatch& watch, Lease& lease, std::string& landed_on) {
    Job keepalive = submit_keepalive(context);
    const Clock::time_point submitted = Clock::now();
    try {
        keepalive = wait_until_picked(context, keepalive, watch, "keepalive");
    } catch (const Error& error) {
        if (error.status() == Status::cancelled && !context.abort.cancelled()) {
            throw Error(Status::cancelled, "Holding the RunPod worker was withdrawn.");
        }
        end_job(context.client, context.tracker, keepalive.id, "worker not held");
        throw;
    }
    if (keepalive.state != JobState::in_progress) {
        context.tracker.remove(keepalive.id);
        throw Error(Status::job_failed, "The keepalive job " + keepalive.id + " ended " +
                                            runpod::job_state_name(keepalive.state) +
                                            " before holding the worker: " + describe_job_failure(keepalive));
    }
    if (keepalive.worker_id.empty() || keepalive.worker_id == lease.worker_id) {
        lease.hold_verified = !keepalive.worker_id.empty();
        lease.hold_job_id = keepalive.id;
        lease.hold_expires_at = submitted + std::chrono::seconds(context.keepalive_seconds);
        return true;
    }
    // The keepalive runs on another worker. Use that worker when its URL can be derived.
    const std::string other_url = url_for_other_worker(lease.public_url, lease.worker_id, keepalive.worker_id);
    if (!other_url.empty()) {
        SP_INFO("Keepalive job {} runs on worker {}; using that worker", keepalive.id, keepalive.worker_id);
        lease.public_url = check_worker_url(other_url, context.url_policy);
        lease.worker_id = keepalive.worker_id;
        lease.hold_job_id = keepalive.id;
        lease.hold_expires_at = submitted + std::chrono::seconds(context.keepalive_seconds);
        return true;
    }
    landed_on = keepalive.worker_id;
    end_job(context.client, context.tracker, keepalive.id, "keepalive landed on another worker");
    return false;
}

}  // namespace

Lease acquire_v1(AcquireContext& context) {
    Lease lease;
    lease.protocol = 1;
    lease.requested_at = Clock::now();
    QueueWatch watch(context);
    context.report(kPhaseQueued, "Waking a RunPod worker", "");

    // v1 jobs cannot be addressed to a worker. Each try wakes a worker (the wakeup job
    // completes once its SwarmUI responds) and then holds it with a keepalive job.
    std::string last_failure;
    bool missed_idle_timeout = false;
    for (int attempt = 1;; ++attempt) {
        const WokenWorker woken = wake_worker(context, watch, lease);
        lease.public_url = woken.public_url;
        lease.worker_id = woken.worker_id;
        const double idle_seconds = seconds_since(woken.idle_since);
        SP_INFO("Worker {} woke after {:.1f} s at {}", lease.worker_id, seconds_since(lease.requested_at),
                lease.public_url);

        if (idle_seconds >= context.endpoint_idle_seconds) {
            // RunPod has probably stopped the worker, and a keepalive would boot another
            // one whose URL is unknown. A new wakeup goes to the woken worker if it still
            // runs, else to a new worker, and returns that worker's URL either way.
            last_failure = "worker " + lease.worker_id + " was idle for " + whole_seconds(idle_seconds) +
                           " s before its wakeup result was read, longer than the endpoint's idle timeout (" +
                           whole_seconds(context.endpoint_idle_seconds) + " s assumed)";
            missed_idle_timeout = true;
        } else {
            context.report(kPhaseLoadingBackends, "Worker " + lease.worker_id + " is awake; holding it",
                           lease.worker_id);
            std::string landed_on;
            if (hold_woken_worker(context, watch, lease, landed_on)) break;
            // The keepalive went to another idle worker, or booted a new one because the
            // woken worker had stopped. Ending it stops that worker, and the next wakeup
            // names the worker to hold.
            last_failure = "a keepalive job landed on worker " + landed_on + " instead of the woken worker " +
                           lease.worker_id;
        }
        SP_WARN("Could not hold a woken v1 worker (try {} of {}): {}", attempt, kMaxHoldTries, last_failure);
        if (attempt >= kMaxHoldTries) {
            throw Error(Status::worker,
                        "Could not hold a woken v1 worker in " + std::to_string(kMaxHoldTries) +
                            " tries; the last: " + last_failure + ". " +
                            (missed_idle_timeout
                                 ? "RunPod's /status replies came too late; raise the endpoint's idle timeout in the "
                                   "RunPod console, or use a v2 worker image."
                                 : "Set the endpoint's max workers to 1 for this v1 worker image, or use a v2 worker "
                                   "image."));
        }
    }
    lease.picked_at = std::max(lease.picked_at, lease.requested_at);
    SP_INFO("Holding worker {} with keepalive job {}", lease.worker_id, lease.hold_job_id);
    return lease;
}

bool renew_v1(AcquireContext& context, Lease& lease) {
    try {
        QueueWatch watch(context);
        Job keepalive = submit_keepalive(context);
        const Clock::time_point submitted = Clock::now();
        // The worker is busy with the running keepalive, so the new one waits in the
        // queue until that ends; it must then run on the same worker.
        PollSchedule schedule(context.max_poll_interval);
        const Deadline until = Deadline(lease.hold_expires_at + std::chrono::seconds(60));
        while (keepalive.state == JobState::in_queue && !until.expired()) {
            std::this_thread::sleep_for(schedule.next());
            keepalive = context.client.status(keepalive.id, Deadline::in(Millis(15000)));
        }
        if (keepalive.state == JobState::in_progress &&
            (keepalive.worker_id.empty() || keepalive.worker_id == lease.worker_id)) {
            lease.hold_verified = lease.hold_verified && !keepalive.worker_id.empty();
            context.tracker.remove(lease.hold_job_id);
            lease.hold_job_id = keepalive.id;
            lease.hold_expires_at = submitted + std::chrono::seconds(context.keepalive_seconds);
            return true;
        }
        end_job(context.client, context.tracker, keepalive.id, "renewal did not hold the same worker");
    } catch (const std::exception& error) {
        SP_WARN("Renewing the keepalive of worker {} failed: {}", lease.worker_id, error.what());
    }
    return false;
}

}  // namespace swarmpod::worker
