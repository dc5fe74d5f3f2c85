// WorkerPool: request checkout and release, the scale-out decision, and shutdown.
#include "worker/pool.hpp"

#include <algorithm>
#include <optional>

#include "log/log.hpp"
#include "worker/pool_internal.hpp"

namespace swarmpod::worker {
namespace {

// Released leases listed in the status snapshot, newest last.
constexpr std::size_t kReleasedLeasesKept = 50;

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
        // The monitor rechecks every 200 ms by itself, so a request that leaves with no other
        // request waiting wakes no thread. On a warm worker that saves a thread switch per generation.
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
                // A lease started for this request and still queued is withdrawn now, or
                // RunPod would later start a worker for it with no request to serve.
                leave();
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
                // With less than half the startup timeout left, a new worker would likely
                // boot (and bill) for a request that has given up by then.
                const Millis half_startup(static_cast<Millis::rep>(settings_.startup_timeout_sec) * 500);
                if (last_failure_->status() == Status::job_failed && !retried &&
                    deadline.remaining() >= half_startup) {
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
                                             (last_message.empty() ? "." : "; last status: " + with_period(last_message)) +
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
// than that is not worth it. While either time is still assumed, the saving must beat one
// cold start by 10%, so a tie on guessed times does not bill a whole boot.
int WorkerPool::workers_to_start_locked() const {
    int starting = 0;
    for (const auto& slot : slots_) starting += slot->state == SlotState::starting && !slot->withdraw.cancelled();
    // Before the endpoint's own times are known, assume a typical RunPod cold start and
    // a typical SwarmUI generation (bounded by the configured timeouts), so a burst of
    // requests does not start one billed worker each.
    std::optional<double> cold = settings_.cold_start_estimate ? settings_.cold_start_estimate() : std::nullopt;
    std::optional<double> generation = generation_estimate_locked();
    const bool assumed = !cold || !generation;
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
    const double worth_a_boot = assumed ? 1.1 * *cold : *cold;
    int to_start = 0;
    for (int request = 0; request < waiters_; ++request) {
        auto earliest = std::min_element(free_in.begin(), free_in.end());
        if (earliest == free_in.end() || *earliest - *cold > worth_a_boot) {
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
        slot->lease.spare_socket = std::move(checkout.lease.spare_socket);
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
        // Only waiting requests need to learn of a released worker at once. The monitor finds
        // the warm worker at its next check, and a worker not kept is ended below.
        if (waiters_ > 0 || stopping_) changed_.notify_all();
    }
    if (generation_seconds >= 0 && settings_.record_generation) settings_.record_generation(generation_seconds);
    if (end_now) {
        // A cancelled or failed generation returns to its caller after this, so a RunPod
        // that does not reply to /cancel may delay it only briefly. A job not confirmed as
        // ended stays tracked and is cancelled again at shutdown (and by the next start).
        const Millis within = mode == ReleaseMode::keep_warm ? Millis(15000) : kQuickEndWithin;
        end_slot(slot,
                 mode == ReleaseMode::broken      ? "lease ended or broken"
                 : mode == ReleaseMode::cancelled ? "generation cancelled"
                                                  : "not kept warm",
                 within);
    }
}

void WorkerPool::end_slot(const std::shared_ptr<Slot>& slot, const std::string& reason, Millis within) noexcept {
    Lease lease;
    std::shared_ptr<swarm::WsPreconnect> spare;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        slot->state = SlotState::releasing;
        spare = std::move(slot->lease.spare_socket);
        lease = slot->lease;
    }
    spare.reset();  // closes a socket opened ahead, outside the lock
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
