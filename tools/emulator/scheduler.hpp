// The emulated endpoint: FIFO job queue, worker start/idle/stop, billing. One mutex guards all state,
// and one background thread acts on timers (boot done, idle timeout, keepalive end, retention).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "config.hpp"
#include "faults.hpp"
#include "jobs.hpp"
#include "ledger.hpp"
#include "models.hpp"

namespace emulator {

class Scheduler {
public:
    Scheduler(const Config& config, const ModelCatalog& models, Ledger& ledger, Faults& faults);
    ~Scheduler();
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    void start();
    // Stops every worker and the timer thread.
    void stop();

    // Queues a job; returns its id. `policy` may carry executionTimeout and ttl in ms.
    std::string submit(const nlohmann::json& input, const nlohmann::json& policy, bool sync);
    // The /status view of a job, or nullopt when unknown or expired.
    std::optional<nlohmann::json> job_view(const std::string& id);
    // Waits until the job is terminal or `wait_ms` passed, then returns its view.
    std::optional<nlohmann::json> wait_for_job(const std::string& id, std::int64_t wait_ms);
    // Returns and consumes the chunks not read yet.
    std::optional<nlohmann::json> stream(const std::string& id);
    std::optional<nlohmann::json> cancel(const std::string& id);
    nlohmann::json health();
    // Cancels every queued job; returns how many.
    int purge_queue();

    nlohmann::json ledger_json();
    void reset();
    void invalidate_sessions();

    // Kills the worker running a job, as a crashed container: the job fails and the worker stops.
    bool kill_worker_of(const std::string& job_id);
    // Ends a running job with `status` (FAILED, CANCELLED or TIMED_OUT) and stops its worker after
    // --cancel-stop-ms, as RunPod does when it ends a job on its side. Returns false for no running job.
    bool end_job_with(const std::string& job_id, const std::string& status);
    // Same, for a worker named by id (a worker:<Route> fault rule).
    bool kill_worker(const std::string& worker_id);

private:
    void run();
    // Acts on every timer that is due and returns when the next one is.
    std::int64_t tick(std::int64_t now);
    void dispatch(std::int64_t now);
    Worker& start_worker(std::int64_t now);
    void stop_worker(Worker& worker, std::int64_t now, const char* reason);
    void release_worker(Worker& worker, std::int64_t now);
    Worker* find_worker(const std::string& id);
    Job* find_live_job(const std::string& id);
    nlohmann::json view(const Job& job) const;
    std::int64_t billed_seconds(const Worker& worker, std::int64_t now) const;

    const Config& config_;
    const ModelCatalog& models_;
    Ledger& ledger_;
    Faults& faults_;

    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable job_changed_;
    std::thread thread_;
    bool stopping_ = false;

    std::map<std::string, Job> jobs_;
    std::vector<std::string> job_order_;
    std::deque<std::string> queue_;
    std::vector<std::unique_ptr<Worker>> workers_;
    // Servers of stopped workers, destroyed by the timer thread outside the lock.
    std::vector<std::unique_ptr<WorkerServer>> retired_;
    // Workers that crashed at boot since the last good boot, shown as "unhealthy" by /health.
    int unhealthy_workers_ = 0;
};

} // namespace emulator
