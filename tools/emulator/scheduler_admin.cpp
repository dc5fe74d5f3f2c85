// The read-out and admin side of Scheduler: /health counters, the ledger, reset and fault hooks.
#include <spdlog/spdlog.h>

#include "scheduler.hpp"
#include "util.hpp"

namespace emulator {

nlohmann::json Scheduler::health()
{
    std::lock_guard<std::mutex> lock(mutex_);
    int completed = 0;
    int failed = 0;
    int in_progress = 0;
    int in_queue = 0;
    for (const auto& [id, job] : jobs_) {
        if (job.expired) {
            continue;
        }
        completed += job.status == JobStatus::completed ? 1 : 0;
        failed += job.status == JobStatus::failed || job.status == JobStatus::timed_out ? 1 : 0;
        in_progress += job.status == JobStatus::in_progress ? 1 : 0;
        in_queue += job.status == JobStatus::in_queue ? 1 : 0;
    }
    int initializing = 0;
    int ready = 0;
    int running = 0;
    int live = 0;
    for (const auto& worker : workers_) {
        initializing += worker->state == WorkerState::booting ? 1 : 0;
        ready += worker->state == WorkerState::idle ? 1 : 0;
        running += worker->state == WorkerState::running ? 1 : 0;
        live += worker->state != WorkerState::stopped ? 1 : 0;
    }
    // RunPod's "idle" counts scaled-down worker slots, not booted workers waiting for a job ("ready").
    int idle = std::max(0, config_.max_workers - live - unhealthy_workers_);
    return {{"jobs",
             {{"completed", completed},
              {"failed", failed},
              {"inProgress", in_progress},
              {"inQueue", in_queue},
              {"retried", 0}}},
            {"workers",
             {{"idle", idle},
              {"initializing", initializing},
              {"ready", ready},
              {"running", running},
              // NOTE: no emulated condition starves workers of GPUs, so "throttled" is always 0.
              {"throttled", 0},
              {"unhealthy", unhealthy_workers_}}}};
}

nlohmann::json Scheduler::ledger_json()
{
    std::lock_guard<std::mutex> lock(mutex_);
    std::int64_t now = now_ms();
    auto workers = nlohmann::json::array();
    std::int64_t total_billed = 0;
    int live = 0;
    for (const auto& worker : workers_) {
        std::int64_t billed = billed_seconds(*worker, now);
        total_billed += billed;
        live += worker->state != WorkerState::stopped ? 1 : 0;
        workers.push_back({{"id", worker->id},
                           {"state", to_string(worker->state)},
                           {"started_ms", worker->started_ms},
                           {"stopped_ms", worker->stopped_ms >= 0 ? nlohmann::json(worker->stopped_ms) : nullptr},
                           {"billed_seconds", billed},
                           {"jobs_run", worker->jobs_run},
                           {"leases", worker->leases},
                           {"flashboot", worker->flashbooted},
                           {"job_id", worker->job_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(worker->job_id)},
                           {"url", worker->url}});
    }
    auto jobs = nlohmann::json::array();
    int running = 0;
    int queued = 0;
    for (const auto& id : job_order_) {
        const Job& job = jobs_.at(id);
        auto optional_time = [](std::int64_t ms) { return ms >= 0 ? nlohmann::json(ms) : nlohmann::json(nullptr); };
        running += job.status == JobStatus::in_progress ? 1 : 0;
        queued += job.status == JobStatus::in_queue ? 1 : 0;
        jobs.push_back({{"id", job.id},
                        {"action", job.action},
                        {"status", to_string(job.status)},
                        {"worker_id", job.worker_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(job.worker_id)},
                        {"submitted_ms", job.submitted_ms},
                        {"started_ms", optional_time(job.started_ms)},
                        {"ended_ms", optional_time(job.ended_ms)},
                        {"expired", job.expired}});
    }
    return {{"now_ms", now},
            {"workers", workers},
            {"jobs", jobs},
            {"images", ledger_.images_json()},
            {"running_jobs", running},
            {"queued_jobs", queued},
            {"live_workers", live},
            {"total_billed_seconds", total_billed},
            {"generations", ledger_.generations()},
            {"worker_requests", ledger_.worker_requests()},
            {"tls_handshake_failures", ledger_.tls_handshake_failures()},
            {"ws_client_closes", ledger_.ws_client_closes()}};
}

void Scheduler::reset()
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        std::int64_t now = now_ms();
        for (auto& worker : workers_) {
            if (worker->state != WorkerState::stopped) {
                stop_worker(*worker, now, "admin reset");
            }
        }
        workers_.clear();
        jobs_.clear();
        job_order_.clear();
        queue_.clear();
        unhealthy_workers_ = 0;
    }
    ledger_.clear();
    job_changed_.notify_all();
    wake_.notify_all();
}

void Scheduler::invalidate_sessions()
{
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& worker : workers_) {
        if (worker->server) {
            worker->server->api().clear_sessions();
        }
    }
}

bool Scheduler::end_job_with(const std::string& job_id, const std::string& status)
{
    std::lock_guard<std::mutex> lock(mutex_);
    Job* job = find_live_job(job_id);
    if (job == nullptr || job->status != JobStatus::in_progress) {
        return false;
    }
    Worker* worker = find_worker(job->worker_id);
    if (worker == nullptr) {
        return false;
    }
    std::int64_t now = now_ms();
    job->status = status == "CANCELLED"   ? JobStatus::cancelled
                  : status == "TIMED_OUT" ? JobStatus::timed_out
                                          : JobStatus::failed;
    job->ended_ms = now;
    job->next_event_ms = -1;
    job->error = "Job ended by a fault rule as " + status;
    cancel_job(*worker, *job);
    worker->stop_at_ms = now + config_.cancel_stop_delay_ms;
    spdlog::warn("worker {}: job {} ended as {} by a fault rule", worker->id, job_id, status);
    job_changed_.notify_all();
    wake_.notify_all();
    return true;
}

bool Scheduler::kill_worker_of(const std::string& job_id)
{
    std::lock_guard<std::mutex> lock(mutex_);
    Job* job = find_live_job(job_id);
    if (job == nullptr || job->status != JobStatus::in_progress) {
        return false;
    }
    Worker* worker = find_worker(job->worker_id);
    if (worker == nullptr) {
        return false;
    }
    spdlog::warn("worker {}: killed by a fault rule while running job {}", worker->id, job_id);
    stop_worker(*worker, now_ms(), "worker died");
    return true;
}

} // namespace emulator

namespace emulator {

bool Scheduler::kill_worker(const std::string& worker_id)
{
    std::lock_guard<std::mutex> lock(mutex_);
    Worker* worker = find_worker(worker_id);
    if (worker == nullptr || worker->state == WorkerState::stopped) {
        return false;
    }
    spdlog::warn("worker {}: killed by a fault rule", worker_id);
    stop_worker(*worker, now_ms(), "worker died");
    return true;
}

} // namespace emulator
