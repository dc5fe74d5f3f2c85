#include "worker/v2_lease.hpp"

#include <algorithm>
#include <thread>

#include "log/log.hpp"
#include "worker/worker_outputs.hpp"

namespace swarmpod::worker {
namespace {

using nlohmann::json;
using runpod::Job;
using runpod::JobState;

// The first output may be lost from /stream (a reply cut after RunPod consumed it), so
// after this long without one we also read /status, whose output aggregates the chunks.
constexpr Millis kStatusFallbackAfter{3000};

Lease lease_from_output(AcquireContext& context, const json& out, const Job& job, Lease lease) {
    const LeaseOutput parsed = parse_lease_output(out, job);
    lease.protocol = parsed.protocol;
    lease.token = parsed.token;
    log::add_secret(parsed.token);
    lease.public_url = check_worker_url(parsed.public_url, context.url_policy);
    lease.worker_id = parsed.worker_id;
    lease.idle_seconds = parsed.idle_seconds.value_or(context.idle_seconds);
    lease.startup_grace_seconds = parsed.startup_grace_seconds.value_or(context.startup_grace_seconds);
    lease.max_lease_seconds = parsed.max_lease_seconds.value_or(context.max_lease_seconds);
    if (lease.max_lease_seconds > 0 && lease.max_lease_seconds < context.max_lease_seconds) {
        SP_INFO("Worker {} caps leases at {:.0f} s (asked {} s)", lease.worker_id, lease.max_lease_seconds,
                context.max_lease_seconds);
    }
    lease.queue_seconds = job.delay_ms ? static_cast<double>(*job.delay_ms) / 1000.0 : 0.0;
    return lease;
}

}  // namespace

Lease acquire_v2(AcquireContext& context) {
    Lease lease;
    lease.protocol = 2;
    lease.requested_at = Clock::now();
    QueueWatch watch(context);

    context.report(kPhaseQueued, "Leasing a RunPod worker", "");
    Job job = submit_job(context, "lease",
                         json{{"action", "lease"},
                              {"idle_seconds", context.idle_seconds},
                              {"startup_grace_seconds", context.startup_grace_seconds},
                              {"max_lease_seconds", context.max_lease_seconds}});
    lease.hold_job_id = job.id;
    SP_INFO("Leasing a worker on endpoint {} (lease job {})", context.client.endpoint_id(), job.id);

    PollSchedule schedule(context.max_poll_interval);
    Clock::time_point last_status_read = Clock::now();
    try {
        while (true) {
            if (context.startup_deadline.expired()) {
                throw Error(Status::timeout, watch.timeout_message(job.id));
            }
            // /stream returns the chunks produced since the last read.
            runpod::StreamReply reply = context.client.stream(job.id, context.startup_deadline, &context.abort);
            job.state = reply.state;
            if (!reply.chunks.empty()) {
                if (lease.picked_at == Clock::time_point{}) lease.picked_at = Clock::now();
                Job status = context.client.status(job.id, context.startup_deadline);
                job.worker_id = status.worker_id;
                job.delay_ms = status.delay_ms;
                lease = lease_from_output(context, reply.chunks.front().output, job, lease);
                // The worker revokes the token when the lease ends, so the first output of an
                // ended lease job cannot be used. A cancel or a release can end it this early.
                if (runpod::is_terminal(reply.state) || runpod::is_terminal(status.state)) {
                    const Job& ended = runpod::is_terminal(status.state) ? status : job;
                    throw Error(Status::job_failed, "The lease job " + job.id + " ended (" +
                                                        lease_release_reason(ended) + ") before a worker was ready.");
                }
                break;
            }
            const bool stale = Clock::now() - last_status_read >= kStatusFallbackAfter;
            if (runpod::is_terminal(reply.state) || stale || reply.state == JobState::unknown) {
                last_status_read = Clock::now();
                Job status = context.client.status(job.id, context.startup_deadline);
                job.state = status.state;
                job.worker_id = status.worker_id;
                job.delay_ms = status.delay_ms;
                if (status.state == JobState::in_progress && lease.picked_at == Clock::time_point{}) {
                    lease.picked_at = Clock::now();
                }
                if (auto first = first_lease_output(status)) {
                    SP_DEBUG("Read the first output of lease job {} from /status", job.id);
                    lease = lease_from_output(context, *first, status, lease);
                    if (runpod::is_terminal(status.state)) {
                        throw Error(Status::job_failed, "The lease job " + job.id + " ended (" + lease_release_reason(status) +
                                                            ") before a worker was ready.");
                    }
                    break;
                }
                if (runpod::is_terminal(status.state)) {
                    context.tracker.remove(job.id);
                    if (is_v1_unknown_action(status)) {
                        throw ProtocolMismatch(1, "The worker does not know the 'lease' action: it runs the v1 image.");
                    }
                    throw Error(Status::job_failed, "The RunPod lease job " + job.id + " ended " +
                                                        runpod::job_state_name(status.state) +
                                                        " before a worker was ready: " +
                                                        (status.error.empty() ? status.output.dump() : status.error));
                }
            }
            if (context.withdraw.cancelled() && job.state == JobState::in_queue) {
                throw Error(Status::cancelled, "The lease job was withdrawn while queued.");
            }
            watch.on_poll(job.state, job.worker_id);
            const Millis wait = std::min(schedule.next(), context.startup_deadline.remaining());
            const bool woken = job.state == JobState::in_queue ? context.withdraw.wait_for(wait)
                                                               : context.abort.wait_for(wait);
            if (woken && context.abort.cancelled()) {
                throw Error(Status::shutting_down, "Stopped leasing a worker: the backend is shutting down.");
            }
        }
    } catch (ProtocolMismatch& mismatch) {
        context.tracker.remove(job.id);
        mismatch.set_probe_job(lease.requested_at, job.worker_id);
        throw;
    } catch (...) {
        end_job(context.client, context.tracker, job.id, "lease not obtained");
        throw;
    }
    SP_INFO("Leased worker {} at {} (lease job {}; idle {:.0f} s, grace {:.0f} s, max {:.0f} s)", lease.worker_id,
            lease.public_url, lease.hold_job_id, lease.idle_seconds, lease.startup_grace_seconds,
            lease.max_lease_seconds);
    return lease;
}

std::optional<std::string> check_v2_lease(runpod::Client& client, const Lease& lease, const CancelToken* cancel) {
    try {
        Job job = client.status(lease.hold_job_id, Deadline::in(Millis(15000)), cancel);
        if (!runpod::is_terminal(job.state)) return std::nullopt;
        return lease_release_reason(job);
    } catch (const Error& error) {
        if (error.status() == Status::not_found || error.status() == Status::auth) return std::string("job gone");
        SP_DEBUG("Checking lease {} failed: {}", lease.hold_job_id, error.what());
        return std::nullopt;
    }
}

}  // namespace swarmpod::worker
