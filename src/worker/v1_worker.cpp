#include "worker/v1_worker.hpp"

#include <algorithm>
#include <thread>

#include "log/log.hpp"
#include "worker/worker_outputs.hpp"

namespace swarmpod::worker {
namespace {

using runpod::Job;
using runpod::JobState;

// A keepalive that lands on another idle worker is cancelled (which stops that worker)
// and sent again; with that worker stopping, the next one goes to the woken worker.
constexpr int kMaxKeepaliveTries = 3;

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

Job wait_until_done(AcquireContext& context, Job job, QueueWatch& watch) {
    PollSchedule schedule(context.max_poll_interval);
    while (!runpod::is_terminal(job.state)) {
        if (context.startup_deadline.expired()) {
            end_job(context.client, context.tracker, job.id, "startup timeout");
            throw Error(Status::timeout, watch.timeout_message(job.id));
        }
        watch.on_poll(job.state, job.worker_id);
        if (context.abort.wait_for(std::min(schedule.next(), context.startup_deadline.remaining()))) {
            throw Error(Status::shutting_down, "Stopped waiting for the wakeup job: the backend is shutting down.");
        }
        job = context.client.status(job.id, context.startup_deadline, &context.abort);
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

}  // namespace

Lease acquire_v1(AcquireContext& context) {
    Lease lease;
    lease.protocol = 1;
    lease.requested_at = Clock::now();
    QueueWatch watch(context);

    context.report(kPhaseQueued, "Waking a RunPod worker", "");
    Job wakeup = submit_job(context, "wakeup", nlohmann::json{{"action", "wakeup"}});
    lease.wakeup_job_id = wakeup.id;
    SP_INFO("Waking a worker on endpoint {} (wakeup job {})", context.client.endpoint_id(), wakeup.id);

    // 1. The wakeup job completes once a worker's SwarmUI answers. Once RunPod has given
    //    it to a worker, that worker bills, so it is no longer withdrawn.
    wakeup = wait_until_picked(context, wakeup, watch, "wakeup");
    lease.picked_at = Clock::now();
    wakeup = wait_until_done(context, wakeup, watch);
    context.tracker.remove(wakeup.id);
    WakeupOutput output;
    try {
        output = parse_wakeup_output(wakeup);
    } catch (ProtocolMismatch& mismatch) {
        mismatch.set_probe_job(lease.requested_at, wakeup.worker_id);
        throw;
    }
    lease.public_url = check_worker_url(output.public_url, context.url_policy);
    lease.worker_id = output.worker_id;
    lease.queue_seconds = wakeup.delay_ms ? static_cast<double>(*wakeup.delay_ms) / 1000.0 : 0.0;
    SP_INFO("Worker {} woke after {:.1f} s at {}", lease.worker_id, seconds_since(lease.requested_at),
            lease.public_url);

    // 2. Hold a worker with a keepalive job and make sure it is the one whose URL we
    //    use. v1 jobs cannot be addressed to a worker, so RunPod may give the keepalive
    //    to another idle worker.
    context.report(kPhaseLoadingBackends, "Worker " + lease.worker_id + " is awake; holding it", lease.worker_id);
    for (int attempt = 1;; ++attempt) {
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
            break;
        }
        // The keepalive runs on another worker. Use that worker when its URL can be
        // derived; otherwise release it and try again.
        const std::string other_url = url_for_other_worker(lease.public_url, lease.worker_id, keepalive.worker_id);
        if (!other_url.empty()) {
            SP_INFO("Keepalive job {} runs on worker {}; using that worker", keepalive.id, keepalive.worker_id);
            lease.public_url = check_worker_url(other_url, context.url_policy);
            lease.worker_id = keepalive.worker_id;
            lease.hold_job_id = keepalive.id;
            lease.hold_expires_at = submitted + std::chrono::seconds(context.keepalive_seconds);
            break;
        }
        SP_INFO("Keepalive job {} landed on worker {} instead of {}; releasing it and trying again", keepalive.id,
                keepalive.worker_id, lease.worker_id);
        end_job(context.client, context.tracker, keepalive.id, "keepalive landed on another worker");
        if (attempt >= kMaxKeepaliveTries) {
            throw Error(Status::worker, "Three keepalive jobs landed on other workers than " + lease.worker_id +
                                            ", so the woken worker could not be held. Set the endpoint's max workers "
                                            "to 1 for this v1 worker image, or use a v2 worker image.");
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
