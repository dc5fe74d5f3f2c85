#include "worker/pool.hpp"

#include <algorithm>
#include <optional>

#include "log/log.hpp"
#include "worker/readiness.hpp"
#include "worker/v1_worker.hpp"
#include "worker/v2_lease.hpp"

namespace swarmpod::worker {

enum class SlotState { starting, warm, in_use, releasing };

struct Slot {
    SlotState state = SlotState::starting;
    Lease lease;
    CancelToken withdraw;
    std::thread thread;
    // Progress of a starting slot, shown to the requests that wait for it.
    int phase = kPhaseQueued;
    std::string message = "Waiting for a RunPod worker";
    std::string worker_id;
    Clock::time_point created_at = Clock::now();
    Clock::time_point use_started{};
    Clock::time_point idle_since{};
    Clock::time_point next_check{};
    int generations = 0;
    bool release_after_use = false;
    bool renewing = false;
};

namespace {

const char* slot_state_name(SlotState state) {
    switch (state) {
        case SlotState::starting: return "starting";
        case SlotState::warm: return "warm";
        case SlotState::in_use: return "in_use";
        case SlotState::releasing: return "releasing";
    }
    return "unknown";
}

// How often a held v2 lease is checked, so a worker that released itself is dropped.
constexpr Millis kLeaseCheckInterval{15000};
// A warm v2 worker is released by us this long before its own idle window would end,
// so no generation is routed to a worker that is releasing itself.
constexpr double kIdleMarginSeconds = 3;

// Released leases listed in the status snapshot, newest last.
constexpr std::size_t kReleasedLeasesKept = 50;

double seconds_between(Clock::time_point from, Clock::time_point to) {
    if (from == Clock::time_point{} || to == Clock::time_point{} || to < from) return -1;
    return std::chrono::duration<double>(to - from).count();
}

// One lease's cost ledger entry. It has the seconds from our first job to three moments:
// the worker taking the job (RunPod's queue and the cold start), a ready SwarmUI, and the
// release. It also has the billed seconds RunPod is estimated to charge. A time not
// reached is -1.
nlohmann::json lease_record(const Lease& lease, int generations, double billed_seconds, const std::string& reason) {
    return {{"worker_id", lease.worker_id},
            {"protocol", lease.protocol},
            {"picked_after_seconds", seconds_between(lease.requested_at, lease.picked_at)},
            {"ready_after_seconds", seconds_between(lease.requested_at, lease.ready_at)},
            {"released_after_seconds", seconds_between(lease.requested_at, lease.released_at)},
            {"generations", generations},
            {"estimated_billed_seconds", billed_seconds},
            {"release_reason", reason}};
}

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

WorkerPool::WorkerPool(http::Client& http, runpod::EndpointConfig endpoint, PoolSettings settings, JobTracker& tracker,
                       ProtocolMemory& protocols)
    : http_(http),
      client_(http, endpoint),
      settings_(settings),
      tracker_(tracker),
      protocols_(protocols),
      api_key_(endpoint.api_key) {
    monitor_ = std::thread([this] { monitor_loop(); });
}

WorkerPool::~WorkerPool() { shutdown(); }

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
                                               " s); last status: " + slot->message +
                                               ". Raise StartupTimeoutSec if this endpoint's cold starts take longer.");
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

Checkout WorkerPool::acquire(const CancelToken& cancel, const LifecycleFn& report) {
    const Clock::time_point started = Clock::now();
    const Deadline deadline = Deadline::in(std::chrono::seconds(settings_.startup_timeout_sec) + Millis(2000));
    std::unique_lock<std::mutex> lock(mutex_);
    ++waiters_;
    uint64_t entry_epoch = failure_epoch_;
    bool retried = false;
    std::string first_failure;  // what ended the first try, when this request tried twice
    std::string last_message;
    int last_phase = -1;
    Clock::time_point last_report{};

    auto leave = [&] {
        --waiters_;
        // Withdraw acquisitions that no request waits for any more. A queued job is
        // cancelled; one already on a worker is kept warm, because it already bills.
        int starting = 0;
        bool withdrew = false;
        for (const auto& slot : slots_) starting += slot->state == SlotState::starting ? 1 : 0;
        for (auto it = slots_.rbegin(); it != slots_.rend() && starting > waiters_; ++it) {
            if ((*it)->state == SlotState::starting && !(*it)->withdraw.cancelled()) {
                (*it)->withdraw.cancel();
                --starting;
                withdrew = true;
            }
        }
        // The monitor rechecks every 200 ms by itself, so a request that leaves alone
        // wakes nobody: on a warm worker that saves a thread switch per generation.
        if (withdrew || waiters_ > 0) changed_.notify_all();
    };

    while (true) {
        if (stopping_) {
            leave();
            throw Error(Status::shutting_down, "The backend is shutting down.");
        }
        for (const auto& slot : slots_) {
            if (slot->state == SlotState::warm) {
                slot->state = SlotState::in_use;
                slot->use_started = Clock::now();
                ++slot->generations;
                --waiters_;
                Checkout checkout;
                checkout.slot = slot;
                checkout.lease = slot->lease;
                checkout.was_warm = Clock::now() - started < Millis(50);
                checkout.waited_seconds = seconds_since(started);
                checkout.warm_idle_seconds =
                    slot->generations > 1 ? std::chrono::duration<double>(Clock::now() - slot->idle_since).count() : 0;
                return checkout;
            }
        }
        if (cancel.cancelled()) {
            leave();
            throw Error(Status::cancelled, "The generation was cancelled while waiting for a RunPod worker.");
        }
        if (failure_epoch_ != entry_epoch && last_failure_) {
            bool any_starting = false;
            for (const auto& slot : slots_) any_starting |= slot->state == SlotState::starting;
            if (!any_starting) {
                // A lease or wakeup job that ended early (a worker that died, a job RunPod
                // failed) may be followed by one that works, so each waiting request tries
                // once more. Other failures (network, auth, settings, readiness) would repeat;
                // the RunPod client has already retried the transient ones.
                if (last_failure_->status() == Status::job_failed && !retried) {
                    retried = true;
                    entry_epoch = failure_epoch_;
                    first_failure = last_failure_->what();
                    SP_INFO("Trying another worker after: {}", first_failure);
                } else {
                    const Error failure = *last_failure_;
                    leave();
                    throw failure;
                }
            }
        }
        if (deadline.expired()) {
            leave();
            throw Error(Status::timeout, "No RunPod worker was ready within the startup timeout (" +
                                             whole_seconds(seconds_since(started)) + " s)" +
                                             (last_message.empty() ? "." : "; last status: " + last_message + ".") +
                                             (first_failure.empty() ? "" : " The first worker failed: " + first_failure));
        }
        int starting = 0;
        for (const auto& slot : slots_) starting += slot->state == SlotState::starting && !slot->withdraw.cancelled();
        if (workers_to_start_locked() > 0 && static_cast<int>(slots_.size()) < max_workers_locked()) {
            start_acquisition_locked();
        }
        // Report the progress of the acquisition this request most likely gets.
        for (const auto& slot : slots_) {
            if (slot->state != SlotState::starting) continue;
            if (slot->message != last_message || slot->phase > last_phase ||
                Clock::now() - last_report >= Millis(1000)) {
                last_message = slot->message;
                // Phases only move forward for the user, even when a protocol step
                // waits in RunPod's queue again (a v1 keepalive after its wakeup).
                last_phase = std::max(last_phase, slot->phase);
                last_report = Clock::now();
                const int phase = last_phase;
                const std::string message = slot->message;
                const std::string worker_id = slot->worker_id;
                lock.unlock();
                report(phase, message, worker_id);
                lock.lock();
            }
            break;
        }
        if (starting >= waiters_ || static_cast<int>(slots_.size()) >= max_workers_locked()) {
            bool any_starting = false;
            for (const auto& slot : slots_) any_starting |= slot->state == SlotState::starting;
            if (!any_starting && last_message.empty()) {
                last_message = "Waiting for a free worker (" + std::to_string(max_workers_locked()) + " in use)";
                lock.unlock();
                report(kPhaseQueued, last_message, "");
                lock.lock();
            }
        }
        changed_.wait_for(lock, Millis(100));
    }
}

// A v1 keepalive job cannot be addressed to a worker. When RunPod reports which worker
// runs it, the pool checks that it is the woken one. When RunPod does not, a second
// worker's keepalive could land on the first worker and leave the second one billing
// with no job. So from then on the pool keeps one v1 worker at a time.
int WorkerPool::max_workers_locked() const { return single_worker_reason_.empty() ? settings_.max_workers : 1; }

void WorkerPool::note_unverified_hold_locked(const Lease& lease) {
    if (lease.protocol != 1 || lease.hold_verified || !single_worker_reason_.empty()) return;
    single_worker_reason_ = "RunPod did not report which worker runs keepalive job " + lease.hold_job_id +
                            ", so swarmpod cannot check that it holds the worker it uses; it keeps one v1 worker "
                            "at a time. A v2 worker image removes this limit.";
    if (settings_.max_workers > 1) SP_WARN("{}", single_worker_reason_);
}

std::optional<double> WorkerPool::generation_estimate_locked() const {
    if (generation_seconds_.empty()) {
        return settings_.generation_estimate ? settings_.generation_estimate() : std::nullopt;
    }
    double sum = 0;
    for (double seconds : generation_seconds_) sum += seconds;
    return sum / static_cast<double>(generation_seconds_.size());
}

// Decides how many workers to start for the requests waiting now. The waiting requests
// are placed, in order, on the worker
// that will be free first (warm now, starting after the rest of its cold start, busy
// after the rest of its generation); a new worker is started only when it would save a
// request more waiting than one cold start. A worker's boot is billed, so saving less
// than that is not worth it.
int WorkerPool::workers_to_start_locked() const {
    int starting = 0;
    for (const auto& slot : slots_) starting += slot->state == SlotState::starting && !slot->withdraw.cancelled();
    // Before the endpoint's own times are known, assume a typical RunPod cold start and
    // a typical SwarmUI generation (bounded by the configured timeouts), so a burst of
    // requests does not start one billed worker each.
    std::optional<double> cold = settings_.cold_start_estimate ? settings_.cold_start_estimate() : std::nullopt;
    std::optional<double> generation = generation_estimate_locked();
    if (!cold) cold = std::min(60.0, settings_.startup_timeout_sec / 2.0);
    if (!generation) generation = std::min(10.0, settings_.generation_timeout_sec / 10.0);

    const Clock::time_point now = Clock::now();
    std::vector<double> free_in;  // seconds until each worker can take a request
    for (const auto& slot : slots_) {
        const auto since = [&](Clock::time_point t) { return std::chrono::duration<double>(now - t).count(); };
        switch (slot->state) {
            case SlotState::warm: free_in.push_back(0); break;
            case SlotState::starting:
                if (!slot->withdraw.cancelled()) free_in.push_back(std::max(0.0, *cold - since(slot->created_at)));
                break;
            case SlotState::in_use: free_in.push_back(std::max(0.0, *generation - since(slot->use_started))); break;
            case SlotState::releasing: break;
        }
    }
    int to_start = 0;
    for (int request = 0; request < waiters_; ++request) {
        auto earliest = std::min_element(free_in.begin(), free_in.end());
        if (earliest == free_in.end() || *earliest - *cold > *cold) {
            ++to_start;
            free_in.push_back(*cold + *generation);
        } else {
            *earliest += *generation;
        }
    }
    return to_start;
}

void WorkerPool::release(Checkout& checkout, ReleaseMode mode) {
    if (!checkout.slot) return;
    std::shared_ptr<Slot> slot = std::move(checkout.slot);
    bool end_now = false;
    double generation_seconds = -1;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (slot->state != SlotState::in_use) return;
        slot->lease.session_id = checkout.lease.session_id;
        // Only generations that ran to the end measure how long a request keeps a worker.
        if (slot->use_started != Clock::time_point{} && mode == ReleaseMode::keep_warm) {
            generation_seconds = seconds_since(slot->use_started);
            generation_seconds_.push_back(generation_seconds);
            if (generation_seconds_.size() > 20) generation_seconds_.erase(generation_seconds_.begin());
        }
        // With KeepWarmSec 0 a worker is still handed to a request that waits for one:
        // ending it would make that request pay a new cold start.
        // A cancelled generation's worker is ended too (the user stopped, so nothing should
        // keep billing), unless a request waits for it.
        const bool wanted = waiters_ > 0;
        const bool healthy = mode != ReleaseMode::broken;
        const bool keep = mode == ReleaseMode::keep_warm ? (settings_.keep_warm_sec > 0 || wanted) : wanted;
        if (!healthy || stopping_ || slot->release_after_use || !keep) {
            slot->state = SlotState::releasing;
            end_now = true;
        } else {
            slot->state = SlotState::warm;
            slot->idle_since = Clock::now();
        }
        // Only waiting requests need to hear of a released worker at once; the monitor finds
        // the warm worker at its next check, and a worker not kept is ended below.
        if (waiters_ > 0 || stopping_) changed_.notify_all();
    }
    if (generation_seconds >= 0 && settings_.record_generation) settings_.record_generation(generation_seconds);
    if (end_now) {
        end_slot(slot, mode == ReleaseMode::broken      ? "lease ended or broken"
                       : mode == ReleaseMode::cancelled ? "generation cancelled"
                                                        : "not kept warm");
    }
}

void WorkerPool::end_slot(const std::shared_ptr<Slot>& slot, const std::string& reason, Millis within) noexcept {
    Lease lease;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        slot->state = SlotState::releasing;
        lease = slot->lease;
    }
    if (!lease.hold_job_id.empty()) {
        if (end_job(client_, tracker_, lease.hold_job_id, reason.c_str(), within)) {
            SP_INFO("Released worker {} ({}; job {} ended, RunPod stops the worker)", lease.worker_id, reason,
                    lease.hold_job_id);
        }
    }
    if (!lease.token.empty()) log::remove_secret(lease.token);
    lease.released_at = Clock::now();
    std::lock_guard<std::mutex> lock(mutex_);
    const double billed = estimated_billed_seconds(lease, lease.released_at, settings_.endpoint_idle_seconds);
    released_billed_seconds_ += billed;
    if (lease.requested_at != Clock::time_point{}) {
        released_leases_.push_back(lease_record(lease, slot->generations, billed,
                                                lease.release_reason.empty() ? reason : lease.release_reason));
        if (released_leases_.size() > kReleasedLeasesKept) released_leases_.erase(released_leases_.begin());
    }
    remove_slot_locked(slot);
    changed_.notify_all();
}

void WorkerPool::remove_slot_locked(const std::shared_ptr<Slot>& slot) {
    auto found = std::find(slots_.begin(), slots_.end(), slot);
    if (found == slots_.end()) return;
    slots_.erase(found);
    // The thread may be the caller itself; it is joined later by the monitor or shutdown.
    if (slot->thread.joinable()) finished_threads_.push_back(std::move(slot->thread));
}

void WorkerPool::monitor_loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
        changed_.wait_for(lock, Millis(200));
        if (stopping_) break;
        // Join acquisition threads that have finished (not the one holding no lock).
        std::vector<std::thread> done;
        for (auto it = finished_threads_.begin(); it != finished_threads_.end();) {
            if (it->get_id() != std::this_thread::get_id()) {
                done.push_back(std::move(*it));
                it = finished_threads_.erase(it);
            } else {
                ++it;
            }
        }
        const Clock::time_point now = Clock::now();
        std::vector<std::pair<std::shared_ptr<Slot>, std::string>> to_end;
        std::vector<std::pair<std::shared_ptr<Slot>, Lease>> to_check;
        std::vector<std::shared_ptr<Slot>> to_renew;
        for (const auto& slot : slots_) {
            // A warm worker is never ended while a request waits: that request takes it.
            if (slot->state == SlotState::warm && waiters_ == 0) {
                const double idle = std::chrono::duration<double>(now - slot->idle_since).count();
                if (slot->release_after_use) {
                    slot->state = SlotState::releasing;
                    to_end.emplace_back(slot, "stopped on request");
                } else if (idle >= settings_.keep_warm_sec) {
                    slot->state = SlotState::releasing;
                    to_end.emplace_back(slot, "idle for " + whole_seconds(idle) + " s");
                } else if (slot->lease.protocol == 2 && slot->lease.idle_seconds > 0 &&
                           idle >= slot->lease.idle_seconds - kIdleMarginSeconds) {
                    slot->state = SlotState::releasing;
                    to_end.emplace_back(slot, "the worker's idle window is ending");
                } else if (slot->lease.protocol == 1 && slot->lease.hold_expires_at - now < settings_.keepalive_margin) {
                    slot->state = SlotState::releasing;
                    to_end.emplace_back(slot, "keepalive window ending");
                }
            }
            if ((slot->state == SlotState::warm || slot->state == SlotState::in_use) && now >= slot->next_check) {
                slot->next_check = now + kLeaseCheckInterval;
                if (slot->lease.protocol == 2 && !slot->lease.hold_job_id.empty()) to_check.emplace_back(slot, slot->lease);
            }
            // A failed renewal is not tried again: each try may start a stray worker, and
            // the worker is released when its generation ends anyway.
            if (slot->state == SlotState::in_use && slot->lease.protocol == 1 && !slot->renewing &&
                !slot->release_after_use && slot->lease.hold_expires_at - now < settings_.keepalive_margin) {
                slot->renewing = true;
                to_renew.push_back(slot);
            }
        }
        lock.unlock();
        for (auto& thread : done) thread.join();
        for (auto& [slot, reason] : to_end) end_slot(slot, reason);
        for (auto& [slot, lease] : to_check) {
            if (auto reason = check_v2_lease(client_, lease, &abort_)) {
                SP_INFO("Worker {} released its lease ({})", lease.worker_id, *reason);
                std::lock_guard<std::mutex> relock(mutex_);
                slot->lease.release_reason = *reason;
                tracker_.remove(slot->lease.hold_job_id);
                slot->lease.hold_job_id.clear();
                if (slot->state == SlotState::warm) {
                    slot->state = SlotState::releasing;
                    to_end.emplace_back(slot, *reason);
                } else {
                    slot->release_after_use = true;
                }
            }
        }
        for (auto& slot : to_renew) {
            const Deadline deadline = Deadline::in(std::chrono::seconds(settings_.startup_timeout_sec));
            AcquireContext context{client_, tracker_, api_key_, settings_.max_poll_interval, deadline,
                                   settings_.url_policy, slot->withdraw, abort_,
                                   [](int, const std::string&, const std::string&) {}};
            context.keepalive_seconds = settings_.keepalive_seconds;
            Lease lease;
            {
                std::lock_guard<std::mutex> relock(mutex_);
                lease = slot->lease;
            }
            const bool renewed = renew_v1(context, lease);
            std::lock_guard<std::mutex> relock(mutex_);
            slot->renewing = false;
            if (renewed) {
                slot->lease = lease;
                note_unverified_hold_locked(lease);
            } else {
                slot->release_after_use = true;
            }
        }
        lock.lock();
        for (auto& [slot, reason] : to_end) {
            if (std::find(slots_.begin(), slots_.end(), slot) != slots_.end()) {
                lock.unlock();
                end_slot(slot, reason);
                lock.lock();
            }
        }
    }
}

bool WorkerPool::stop_worker(const std::string& worker_id) {
    std::shared_ptr<Slot> target;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (const auto& slot : slots_) {
            if (slot->lease.worker_id != worker_id || worker_id.empty()) continue;
            if (slot->state == SlotState::warm) {
                slot->state = SlotState::releasing;
                target = slot;
            } else {
                slot->release_after_use = true;
            }
            break;
        }
        if (!target) {
            for (const auto& slot : slots_) {
                if (slot->lease.worker_id == worker_id && !worker_id.empty()) return true;
            }
            return false;
        }
    }
    end_slot(target, "stopped on request");
    return true;
}

nlohmann::json WorkerPool::status() const {
    std::lock_guard<std::mutex> lock(mutex_);
    nlohmann::json workers = nlohmann::json::array();
    int warm = 0, starting = 0, in_use = 0;
    const Clock::time_point now = Clock::now();
    double live_billed = 0;
    for (const auto& slot : slots_) {
        warm += slot->state == SlotState::warm;
        starting += slot->state == SlotState::starting;
        in_use += slot->state == SlotState::in_use;
        live_billed += estimated_billed_seconds(slot->lease, now, settings_.endpoint_idle_seconds);
        workers.push_back({{"worker_id", slot->lease.worker_id.empty() ? slot->worker_id : slot->lease.worker_id},
                           {"state", slot_state_name(slot->state)},
                           {"protocol", slot->lease.protocol},
                           {"job_id", slot->lease.hold_job_id},
                           {"public_url", slot->lease.public_url},
                           {"age_seconds", slot->lease.requested_at == Clock::time_point{}
                                               ? 0.0
                                               : seconds_since(slot->lease.requested_at)},
                           {"generations", slot->generations},
                           {"picked_after_seconds", seconds_between(slot->lease.requested_at, slot->lease.picked_at)},
                           {"ready_after_seconds", seconds_between(slot->lease.requested_at, slot->lease.ready_at)},
                           {"estimated_billed_seconds",
                            estimated_billed_seconds(slot->lease, now, settings_.endpoint_idle_seconds)},
                           {"in_use", slot->state == SlotState::in_use},
                           {"message", slot->state == SlotState::starting ? slot->message : ""}});
    }
    return {{"workers", workers},
            {"warm", warm},
            {"starting", starting},
            {"in_use", in_use},
            {"max", max_workers_locked()},
            {"max_configured", settings_.max_workers},
            {"single_worker_reason", single_worker_reason_},
            {"waiting_requests", waiters_},
            {"leases_started", leases_started_},
            {"estimated_billed_seconds", released_billed_seconds_ + live_billed},
            {"released_leases", released_leases_},
            {"last_error", last_error_text_}};
}

double WorkerPool::billed_seconds_estimate() const {
    std::lock_guard<std::mutex> lock(mutex_);
    double live = 0;
    for (const auto& slot : slots_) live += estimated_billed_seconds(slot->lease, Clock::now(), settings_.endpoint_idle_seconds);
    return released_billed_seconds_ + live;
}

void WorkerPool::shutdown(Millis within) noexcept {
    const Deadline deadline = Deadline::in(within);
    std::vector<std::shared_ptr<Slot>> held;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_ && !monitor_.joinable()) return;
        stopping_ = true;
        for (const auto& slot : slots_) {
            slot->withdraw.cancel();
            if (slot->state == SlotState::warm || slot->state == SlotState::in_use) held.push_back(slot);
        }
        changed_.notify_all();
    }
    abort_.cancel();
    if (monitor_.joinable()) monitor_.join();
    // Each end may wait for RunPod up to `within`. Ending them side by side keeps the
    // whole shutdown near `within`, however many workers are held.
    std::vector<std::thread> enders;
    for (const auto& slot : held) {
        try {
            enders.emplace_back([this, slot, within] { end_slot(slot, "backend shutting down", within); });
        } catch (const std::exception&) {
            end_slot(slot, "backend shutting down", within);  // no thread available: end it here
        }
    }
    for (auto& ender : enders) ender.join();
    // Acquisitions end their own jobs when aborted; wait for them.
    std::vector<std::thread> threads;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (const auto& slot : slots_) {
            if (slot->thread.joinable()) threads.push_back(std::move(slot->thread));
        }
        for (auto& thread : finished_threads_) threads.push_back(std::move(thread));
        finished_threads_.clear();
    }
    for (auto& thread : threads) {
        if (thread.joinable() && thread.get_id() != std::this_thread::get_id()) thread.join();
    }
    std::vector<std::shared_ptr<Slot>> rest;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        rest = slots_;
    }
    for (const auto& slot : rest) end_slot(slot, "backend shutting down", std::max(Millis(1000), deadline.remaining()));
}

}  // namespace swarmpod::worker
