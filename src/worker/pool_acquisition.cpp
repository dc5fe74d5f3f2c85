// WorkerPool's acquisition threads: each leases one worker in the endpoint's protocol
// and waits until its SwarmUI is ready.
#include "worker/pool.hpp"

#include <algorithm>
#include <optional>

#include "log/log.hpp"
#include "worker/pool_internal.hpp"
#include "worker/readiness.hpp"
#include "worker/v1_worker.hpp"
#include "worker/v2_lease.hpp"

namespace swarmpod::worker {
namespace {

// The rejected job of a protocol probe boots a worker when none is idle, and the
// acquisition that follows then finds that worker running. When RunPod reports that the
// lease holds the probe's worker, its cold start and billing start with the probe job.
// Otherwise the time to ready measures no cold start and is not recorded.
void attribute_probe_boot(const ProtocolMismatch& probe, Lease& lease) {
    if (!probe.probe_worker_id().empty() && probe.probe_worker_id() == lease.worker_id &&
        probe.probe_submitted_at() != Clock::time_point{}) {
        lease.requested_at = std::min(lease.requested_at, probe.probe_submitted_at());
    } else {
        lease.cold_start_measured = false;
    }
}

}  // namespace

void WorkerPool::start_acquisition_locked() {
    auto slot = std::make_shared<Slot>();
    slots_.push_back(slot);
    ++leases_started_;
    slot->thread = std::thread([this, slot] { run_acquisition(slot); });
}

Lease WorkerPool::acquire_with_protocol(AcquireContext& context) {
    const std::string& endpoint = client_.endpoint_id();
    int protocol = settings_.forced_protocol != 0 ? settings_.forced_protocol : protocols_.get(endpoint);
    // While the protocol is unknown, one acquisition probes and the others wait for its
    // result, so a burst of first requests does not send a probe (and boot a worker) each.
    std::unique_lock<std::mutex> detecting(protocols_.detection(), std::defer_lock);
    if (protocol == 0) {
        detecting.lock();
        protocol = protocols_.get(endpoint);
        if (protocol != 0) detecting.unlock();
    }
    if (protocol == 0) protocol = 2;  // try a lease first: a v1 worker refuses it without holding a second worker
    std::optional<ProtocolMismatch> probe;  // the other protocol's job that the worker rejected
    for (int attempt = 0;; ++attempt) {
        try {
            Lease lease;
            if (protocol == 2) {
                lease = acquire_v2(context);
            } else {
                // v1 jobs cannot be addressed to a worker: while one acquisition holds
                // a woken worker with its keepalive, another acquisition's keepalive
                // could land on that worker instead. One v1 acquisition at a time lets
                // each keepalive find only its own idle worker.
                std::lock_guard<std::mutex> one_at_a_time(v1_acquisition_);
                {
                    // Another acquisition may have found, while this one waited for the
                    // lock, that this endpoint gets one v1 worker at a time.
                    std::lock_guard<std::mutex> lock(mutex_);
                    int held = 0;
                    for (const auto& slot : slots_) held += slot->state == SlotState::warm || slot->state == SlotState::in_use;
                    if (held >= max_workers_locked()) {
                        throw Error(Status::cancelled, "Not starting a second v1 worker: " + single_worker_reason_);
                    }
                }
                lease = acquire_v1(context);
            }
            if (settings_.forced_protocol == 0 && protocols_.get(endpoint) != protocol) {
                protocols_.set(endpoint, protocol);
                SP_INFO("Endpoint {} runs worker protocol v{}", endpoint, protocol);
            }
            if (probe) attribute_probe_boot(*probe, lease);
            return lease;
        } catch (const ProtocolMismatch& mismatch) {
            if (settings_.forced_protocol != 0) {
                throw Error(Status::worker, std::string(mismatch.what()) + " Set WorkerProtocol to \"auto\" or \"v" +
                                                std::to_string(mismatch.actual_protocol()) + "\".");
            }
            if (attempt > 0) throw;
            SP_INFO("Endpoint {} answered as a v{} worker; switching protocol", endpoint, mismatch.actual_protocol());
            protocols_.set(endpoint, mismatch.actual_protocol());
            protocol = mismatch.actual_protocol();
            probe = mismatch;
        }
    }
}

void WorkerPool::run_acquisition(std::shared_ptr<Slot> slot) {
    const Deadline deadline = Deadline::in(std::chrono::seconds(settings_.startup_timeout_sec));
    auto report = [this, slot](int phase, const std::string& message, const std::string& worker_id) {
        std::lock_guard<std::mutex> lock(mutex_);
        slot->phase = phase;
        slot->message = message;
        if (!worker_id.empty()) slot->worker_id = worker_id;
        changed_.notify_all();
    };
    // Poll the lease fast, so a worker's first output is seen within a few hundred
    // milliseconds, but keep all acquisitions together near 20 requests a second
    // (RunPod allows 2000 /stream and /status calls per 10 s per endpoint).
    Millis poll_cap = settings_.max_poll_interval;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        int acquiring = 0;
        for (const auto& other : slots_) acquiring += other->state == SlotState::starting ? 1 : 0;
        poll_cap = std::clamp(Millis(50 * std::max(1, acquiring)), Millis(250), std::max(Millis(250), poll_cap));
    }
    AcquireContext context{client_, tracker_, api_key_, poll_cap, deadline, settings_.url_policy,
                           slot->withdraw, abort_, report};
    // A v2 worker releases itself after idle_seconds without a generation. Ask for a
    // little more than we keep it warm, so that our own release comes first.
    context.idle_seconds = std::clamp(settings_.keep_warm_sec + 30, 5, 3600);
    // The grace counts from the lease start and must cover readiness plus the handover.
    context.startup_grace_seconds = std::clamp(settings_.startup_timeout_sec + 120, 60, 3600);
    context.max_lease_seconds = 3600;
    context.keepalive_seconds = settings_.keepalive_seconds;
    context.endpoint_idle_seconds = settings_.endpoint_idle_seconds;

    try {
        Lease lease = acquire_with_protocol(context);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            slot->lease = lease;
            slot->worker_id = lease.worker_id;
            note_unverified_hold_locked(lease);
        }
        ReadinessLimits limits;
        limits.deadline = deadline;
        limits.max_poll_interval = settings_.max_poll_interval;
        // With short startup timeouts (tests, impatient users) the specific failures
        // must still be reported before the generic timeout.
        const Millis startup(static_cast<Millis::rep>(settings_.startup_timeout_sec) * 1000);
        limits.errored_after = std::min(limits.errored_after, startup / 4);
        limits.no_backend_after = std::min(limits.no_backend_after, startup / 3);
        limits.never_answered_after = std::min(limits.never_answered_after, startup / 2);
        try {
            wait_until_ready(http_, lease, limits, abort_, report);
        } catch (...) {
            end_slot(slot, "worker not ready");
            throw;
        }
        lease.ready_at = Clock::now();
        std::lock_guard<std::mutex> lock(mutex_);
        slot->lease.ready_at = lease.ready_at;
        if (stopping_) {
            slot->state = SlotState::releasing;
        } else {
            slot->state = SlotState::warm;
            slot->idle_since = Clock::now();
            slot->next_check = Clock::now() + kLeaseCheckInterval;
            SP_INFO("Worker {} is ready after {:.1f} s", lease.worker_id, seconds_since(lease.requested_at));
        }
        if (settings_.record_cold_start && lease.cold_start_measured) {
            settings_.record_cold_start(seconds_since(lease.requested_at));
        }
        changed_.notify_all();
    } catch (const Error& raised) {
        std::lock_guard<std::mutex> lock(mutex_);
        Error error = raised;
        // The startup deadline may run out inside a RunPod call, whose own message
        // ("/status did not finish before the deadline") does not help the user. So report
        // the startup timeout with the last progress message (often a /health diagnosis).
        if (raised.status() == Status::timeout && deadline.expired()) {
            error = Error(Status::timeout, "No RunPod worker was ready within the startup timeout (" +
                                               std::to_string(settings_.startup_timeout_sec) +
                                               " s); last status: " + with_period(slot->message) +
                                               " Raise StartupTimeoutSec if this endpoint's cold starts take longer.");
        }
        if (error.status() != Status::cancelled && error.status() != Status::shutting_down) {
            SP_WARN("Could not get a worker on endpoint {}: {}", client_.endpoint_id(), error.what());
            last_failure_ = error;
            last_error_text_ = error.what();
            ++failure_epoch_;
        }
        remove_slot_locked(slot);
        changed_.notify_all();
        return;
    } catch (const std::exception& error) {
        std::lock_guard<std::mutex> lock(mutex_);
        last_failure_ = Error(Status::internal, std::string("Internal error while getting a worker: ") + error.what());
        last_error_text_ = last_failure_->what();
        ++failure_epoch_;
        remove_slot_locked(slot);
        changed_.notify_all();
        return;
    }
    bool release_now = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        release_now = slot->state == SlotState::releasing;
    }
    if (release_now) {
        end_slot(slot, "backend shutting down");
    }
}

}  // namespace swarmpod::worker
