// WorkerPool: the workers held for one (endpoint, API key). A request takes a warm
// worker first, else starts one acquisition (never more than there are waiting
// requests, never more workers than MaxConcurrent), else waits. After a generation the
// worker stays warm for KeepWarmSec, then its job is ended so billing stops.
#pragma once

#include <atomic>
#include <functional>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/cancel.hpp"
#include "http/client.hpp"
#include "runpod/client.hpp"
#include "worker/job_tracker.hpp"
#include "worker/lease.hpp"
#include "worker/protocol.hpp"
#include "worker/protocol_memory.hpp"

namespace swarmpod::worker {

struct PoolSettings {
    int max_workers = 10;
    int keep_warm_sec = 30;
    Millis max_poll_interval{2000};
    int startup_timeout_sec = 120;
    int generation_timeout_sec = 300;
    int forced_protocol = 0;  // 0 = detect, 1 or 2
    UrlPolicy url_policy;
    // RunPod keeps a worker this long after its last job; used only for cost estimates.
    double endpoint_idle_seconds = 5;
    // v1: the window of one keepalive job, and how long before its end the pool renews
    // it (worker in use) or releases the worker (warm). Tests shorten both.
    int keepalive_seconds = 3600;
    Millis keepalive_margin{90000};
    // The endpoint's recent cold starts (persisted by the backend): read for the
    // scale-out decision and progress estimates, fed with each new worker's startup.
    std::function<std::optional<double>()> cold_start_estimate;
    std::function<void(double seconds)> record_cold_start;
    // The same for the time a generation holds a worker; the pool's own recent samples
    // take over once it has some.
    std::function<std::optional<double>()> generation_estimate;
    std::function<void(double seconds)> record_generation;
};

struct Slot;

// A worker handed to one generation. Give it back with WorkerPool::release.
struct Checkout {
    std::shared_ptr<Slot> slot;
    Lease lease;                 // a copy taken at checkout
    bool was_warm = false;       // true when no new worker had to be started
    double waited_seconds = 0;   // in acquire
    double warm_idle_seconds = 0;  // how long the worker had idled before this generation
};

class WorkerPool {
public:
    WorkerPool(http::Client& http, runpod::EndpointConfig endpoint, PoolSettings settings, JobTracker& tracker,
               ProtocolMemory& protocols);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // Blocks until a worker is ready for this request. Progress is reported through
    // `report` on the calling thread. Throws Error(cancelled) when `cancel` fires,
    // Error(timeout) after StartupTimeoutSec, or the acquisition's own error.
    Checkout acquire(const CancelToken& cancel, const LifecycleFn& report);

    // How a generation gives its worker back.
    enum class ReleaseMode {
        keep_warm,  // the worker is fine: warm for KeepWarmSec
        cancelled,  // the user stopped the generation: handed to a waiting request, else ended now
        broken,     // its lease is gone or the worker failed: ended, never reused
    };
    void release(Checkout& checkout, ReleaseMode mode);

    // Releases the worker with this id now, or after its current generation.
    bool stop_worker(const std::string& worker_id);

    // Counts and worker entries for the status snapshot; never a token.
    nlohmann::json status() const;
    double billed_seconds_estimate() const;

    // Withdraws queued acquisitions, ends every held worker (all at once, each end
    // given `within`), joins every thread. Returns in about `within` even when RunPod
    // does not answer.
    void shutdown(Millis within = Millis(15000)) noexcept;

private:
    void start_acquisition_locked();
    // How many more workers to start for the waiting requests (see pool.cpp).
    int workers_to_start_locked() const;
    // MaxConcurrent, or 1 once a v1 keepalive could not be verified (see pool.cpp).
    int max_workers_locked() const;
    void note_unverified_hold_locked(const Lease& lease);
    std::optional<double> generation_estimate_locked() const;
    void run_acquisition(std::shared_ptr<Slot> slot);
    Lease acquire_with_protocol(AcquireContext& context);
    void monitor_loop();
    void end_slot(const std::shared_ptr<Slot>& slot, const std::string& reason,
                  Millis within = Millis(15000)) noexcept;
    void remove_slot_locked(const std::shared_ptr<Slot>& slot);

    http::Client& http_;
    runpod::Client client_;
    PoolSettings settings_;
    JobTracker& tracker_;
    ProtocolMemory& protocols_;
    std::string api_key_;

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::shared_ptr<Slot>> slots_;
    std::vector<std::thread> finished_threads_;
    int waiters_ = 0;
    bool stopping_ = false;
    uint64_t failure_epoch_ = 0;
    std::optional<Error> last_failure_;
    std::string last_error_text_;
    double released_billed_seconds_ = 0;
    std::vector<nlohmann::json> released_leases_;  // cost ledger of the last released leases
    std::vector<double> generation_seconds_;  // recent in-use durations, newest last
    int leases_started_ = 0;
    std::string single_worker_reason_;  // set once; the status snapshot shows it
    CancelToken abort_;
    std::mutex v1_acquisition_;
    std::thread monitor_;
};

}  // namespace swarmpod::worker
