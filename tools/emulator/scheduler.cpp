#include "scheduler.hpp"

#include <algorithm>
#include <limits>

#include <spdlog/spdlog.h>

#include "util.hpp"

namespace emulator {
namespace {

constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();

std::int64_t earliest(std::int64_t a, std::int64_t b)
{
    return b >= 0 ? std::min(a, b) : a;
}

} // namespace

Scheduler::Scheduler(const Config& config, const ModelCatalog& models, Ledger& ledger, Faults& faults)
    : config_(config), models_(models), ledger_(ledger), faults_(faults)
{
}

Scheduler::~Scheduler()
{
    stop();
}

void Scheduler::start()
{
    thread_ = std::thread([this] { run(); });
}

void Scheduler::stop()
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) {
            return;
        }
        stopping_ = true;
        std::int64_t now = now_ms();
        for (auto& worker : workers_) {
            if (worker->state != WorkerState::stopped) {
                stop_worker(*worker, now, "emulator shutdown");
            }
        }
    }
    wake_.notify_all();
    job_changed_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
    // Servers are destroyed outside the lock: their connection threads may be waiting for it.
    std::vector<std::unique_ptr<WorkerServer>> servers;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        servers.swap(retired_);
    }
    servers.clear();
}

void Scheduler::run()
{
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
        std::int64_t next = tick(now_ms());
        if (!retired_.empty()) {
            auto servers = std::move(retired_);
            retired_.clear();
            lock.unlock();
            servers.clear();
            lock.lock();
            continue;
        }
        std::int64_t now = now_ms();
        if (next <= now) {
            continue;
        }
        // Wake at least once a minute, so a clock surprise can never park the thread for good.
        wake_.wait_for(lock, std::chrono::milliseconds(std::min<std::int64_t>(next - now, 60000)));
    }
}

std::int64_t Scheduler::tick(std::int64_t now)
{
    bool jobs_changed = false;
    for (auto& worker_ptr : workers_) {
        Worker& worker = *worker_ptr;
        if (worker.state == WorkerState::stopped) {
            continue;
        }
        if (worker.stop_at_ms >= 0 && now >= worker.stop_at_ms) {
            stop_worker(worker, now, "job cancelled");
            continue;
        }
        if (worker.state == WorkerState::booting && now >= worker.ready_ms) {
            if (faults_.take("boot", "crash_loop")) {
                unhealthy_workers_ += 1;
                stop_worker(worker, now, "crashed during boot (crash_loop fault)");
                continue;
            }
            unhealthy_workers_ = 0;
            worker.server->set_ready(true);
            worker.session_id = worker.server->api().create_session();
            worker.state = WorkerState::idle;
            worker.idle_since_ms = now;
            spdlog::info("worker {}: booted after {} ms at {}", worker.id, now - worker.started_ms, worker.url);
        }
    }

    for (auto& id : job_order_) {
        Job& job = jobs_.at(id);
        if (job.expired) {
            continue;
        }
        if (job.ttl_ms > 0 && now >= job.submitted_ms + job.ttl_ms) {
            // TTL covers queue and run time; an expired job is deleted even while it runs.
            job.expired = true;
            queue_.erase(std::remove(queue_.begin(), queue_.end(), job.id), queue_.end());
            if (auto* worker = find_worker(job.worker_id); worker && worker->job_id == job.id) {
                stop_worker(*worker, now, "job TTL expired");
            }
            jobs_changed = true;
            continue;
        }
        if (job.status != JobStatus::in_progress) {
            if (is_terminal(job.status)) {
                std::int64_t retention = job.sync ? config_.sync_job_retention_ms : config_.job_retention_ms;
                if (now >= job.ended_ms + retention) {
                    job.expired = true;
                }
            }
            continue;
        }
        Worker* worker = find_worker(job.worker_id);
        if (worker == nullptr) {
            continue;
        }
        if (job.execution_timeout_ms > 0 && now >= job.started_ms + job.execution_timeout_ms) {
            job.status = JobStatus::timed_out;
            job.ended_ms = now;
            job.error = "Job execution timed out";
            cancel_job(*worker, job);
            worker->stop_at_ms = now + config_.cancel_stop_delay_ms;
            jobs_changed = true;
            continue;
        }
        if (job.next_event_ms >= 0 && now >= job.next_event_ms) {
            run_job_timer(config_, *worker, job, now);
            if (is_terminal(job.status)) {
                release_worker(*worker, now);
            }
            jobs_changed = true;
        }
    }

    dispatch(now);

    for (auto& worker_ptr : workers_) {
        Worker& worker = *worker_ptr;
        if (worker.state == WorkerState::idle && worker.stop_at_ms < 0 &&
            now >= worker.idle_since_ms + config_.idle_timeout_ms) {
            stop_worker(worker, now, "idle timeout");
        }
    }
    if (jobs_changed) {
        job_changed_.notify_all();
    }

    std::int64_t next = never;
    for (auto& worker_ptr : workers_) {
        const Worker& worker = *worker_ptr;
        if (worker.state == WorkerState::stopped) {
            continue;
        }
        next = earliest(next, worker.stop_at_ms);
        if (worker.state == WorkerState::booting) {
            next = std::min(next, worker.ready_ms);
        }
        if (worker.state == WorkerState::idle && worker.stop_at_ms < 0) {
            next = std::min(next, worker.idle_since_ms + config_.idle_timeout_ms);
        }
    }
    for (auto& [id, job] : jobs_) {
        if (job.expired) {
            continue;
        }
        if (job.ttl_ms > 0) {
            next = std::min(next, job.submitted_ms + job.ttl_ms);
        }
        if (job.status == JobStatus::in_progress) {
            next = earliest(next, job.next_event_ms);
            if (job.execution_timeout_ms > 0) {
                next = std::min(next, job.started_ms + job.execution_timeout_ms);
            }
        } else if (is_terminal(job.status)) {
            next = std::min(next, job.ended_ms + (job.sync ? config_.sync_job_retention_ms : config_.job_retention_ms));
        }
    }
    return next;
}

void Scheduler::dispatch(std::int64_t now)
{
    bool changed = false;
    while (!queue_.empty()) {
        Worker* free_worker = nullptr;
        for (auto& worker : workers_) {
            if (worker->state == WorkerState::idle && worker->stop_at_ms < 0) {
                free_worker = worker.get();
                break;
            }
        }
        if (free_worker == nullptr) {
            break;
        }
        Job& job = jobs_.at(queue_.front());
        queue_.pop_front();
        free_worker->state = WorkerState::running;
        free_worker->job_id = job.id;
        start_job(config_, *free_worker, job, now);
        spdlog::info("worker {}: started job {} ({})", free_worker->id, job.id, job.action);
        if (is_terminal(job.status)) {
            release_worker(*free_worker, now);
        }
        changed = true;
    }

    // One new worker per queued job that no booting worker will take, up to --max-workers.
    std::size_t booting = 0;
    std::size_t live = 0;
    for (auto& worker : workers_) {
        booting += worker->state == WorkerState::booting ? 1 : 0;
        live += worker->state != WorkerState::stopped ? 1 : 0;
    }
    while (queue_.size() > booting && live < static_cast<std::size_t>(config_.max_workers)) {
        start_worker(now);
        ++booting;
        ++live;
    }
    if (changed) {
        job_changed_.notify_all();
    }
}

Worker& Scheduler::start_worker(std::int64_t now)
{
    auto worker = std::make_unique<Worker>();
    worker->id = make_worker_id();
    worker->started_ms = now;
    std::int64_t cold_start = config_.cold_start_ms;
    if (config_.flashboot_ms > 0) {
        for (auto& old : workers_) {
            if (old->state == WorkerState::stopped && !old->snapshot_used && now - old->stopped_ms < config_.flashboot_ms) {
                old->snapshot_used = true;
                worker->flashbooted = true;
                cold_start = std::min(cold_start, config_.flashboot_cold_start_ms);
                break;
            }
        }
    }
    worker->ready_ms = now + cold_start;
    worker->server = std::make_unique<WorkerServer>(config_, models_, ledger_, worker->id,
                                                    config_.protocol == WorkerProtocol::v2);
    worker->server->set_fault_hooks(&faults_, [this](const std::string& id) { kill_worker(id); });
    worker->server->start();
    const char* scheme = config_.worker_tls_cert.empty() ? "http" : "https";
    worker->url = config_.report_url.empty()
                      ? std::string(scheme) + "://127.0.0.1:" + std::to_string(worker->server->port())
                      : config_.report_url;
    spdlog::info("worker {}: starting on port {} (cold start {} ms{})", worker->id, worker->server->port(),
                 cold_start, worker->flashbooted ? ", FlashBoot" : "");
    workers_.push_back(std::move(worker));
    return *workers_.back();
}

void Scheduler::stop_worker(Worker& worker, std::int64_t now, const char* reason)
{
    if (!worker.job_id.empty()) {
        auto found = jobs_.find(worker.job_id);
        if (found != jobs_.end() && found->second.status == JobStatus::in_progress) {
            fail_job(found->second, "Worker " + worker.id + " stopped: " + reason, now);
            job_changed_.notify_all();
        }
        worker.job_id.clear();
        worker.jobs_run += 1;
    }
    worker.state = WorkerState::stopped;
    worker.stopped_ms = now;
    worker.stop_at_ms = -1;
    if (worker.server) {
        retired_.push_back(std::move(worker.server));
    }
    spdlog::info("worker {}: stopped ({}), billed {} s", worker.id, reason, billed_seconds(worker, now));
    wake_.notify_all();
}

void Scheduler::release_worker(Worker& worker, std::int64_t now)
{
    worker.job_id.clear();
    worker.jobs_run += 1;
    if (worker.state == WorkerState::running) {
        worker.state = WorkerState::idle;
        worker.idle_since_ms = now;
    }
}

Worker* Scheduler::find_worker(const std::string& id)
{
    for (auto& worker : workers_) {
        if (worker->id == id) {
            return worker.get();
        }
    }
    return nullptr;
}

Job* Scheduler::find_live_job(const std::string& id)
{
    auto found = jobs_.find(id);
    if (found == jobs_.end() || found->second.expired) {
        return nullptr;
    }
    return &found->second;
}

std::int64_t Scheduler::billed_seconds(const Worker& worker, std::int64_t now) const
{
    std::int64_t end = worker.stopped_ms >= 0 ? worker.stopped_ms : now;
    return (end - worker.started_ms + 999) / 1000;
}

} // namespace emulator
