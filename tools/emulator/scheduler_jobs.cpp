// The client-facing side of Scheduler: submitting, reading, streaming and cancelling jobs.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "scheduler.hpp"
#include "util.hpp"

namespace emulator {

std::string Scheduler::submit(const nlohmann::json& input, const nlohmann::json& policy, bool sync)
{
    Job job;
    job.id = make_job_id(sync);
    job.input = input;
    job.sync = sync;
    const char* default_action = config_.protocol == WorkerProtocol::v2 ? "lease" : "wakeup";
    if (!input.contains("action") || input["action"].is_null()) {
        job.action = default_action;
    } else {
        job.action = input["action"].is_string() ? input["action"].get<std::string>() : input["action"].dump();
    }
    if (policy.is_object()) {
        if (policy.contains("executionTimeout") && policy["executionTimeout"].is_number()) {
            job.execution_timeout_ms = policy["executionTimeout"].get<std::int64_t>();
        }
        if (policy.contains("ttl") && policy["ttl"].is_number()) {
            job.ttl_ms = policy["ttl"].get<std::int64_t>();
        }
    }
    std::string id = job.id;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        job.submitted_ms = now_ms();
        jobs_.emplace(id, std::move(job));
        job_order_.push_back(id);
        queue_.push_back(id);
        dispatch(now_ms());
    }
    wake_.notify_all();
    return id;
}

nlohmann::json Scheduler::view(const Job& job) const
{
    nlohmann::json out = {{"id", job.id}, {"status", to_string(job.status)}};
    if (job.started_ms >= 0) {
        out["delayTime"] = job.started_ms - job.submitted_ms;
        out["executionTime"] = (job.ended_ms >= 0 ? job.ended_ms : now_ms()) - job.started_ms;
        out["workerId"] = job.worker_id;
    }
    if (job.streaming && !job.chunks.empty()) {
        out["output"] = job.chunks;
    } else if (job.output) {
        out["output"] = *job.output;
    }
    if (job.error) {
        out["error"] = *job.error;
    }
    return out;
}

std::optional<nlohmann::json> Scheduler::job_view(const std::string& id)
{
    std::lock_guard<std::mutex> lock(mutex_);
    const Job* job = find_live_job(id);
    if (job == nullptr) {
        return std::nullopt;
    }
    return view(*job);
}

std::optional<nlohmann::json> Scheduler::wait_for_job(const std::string& id, std::int64_t wait_ms)
{
    std::unique_lock<std::mutex> lock(mutex_);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    for (;;) {
        const Job* job = find_live_job(id);
        if (job == nullptr) {
            return std::nullopt;
        }
        if (is_terminal(job->status) || stopping_ ||
            job_changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
            job = find_live_job(id);
            return job ? std::optional<nlohmann::json>(view(*job)) : std::nullopt;
        }
    }
}

std::optional<nlohmann::json> Scheduler::stream(const std::string& id)
{
    std::lock_guard<std::mutex> lock(mutex_);
    Job* job = find_live_job(id);
    if (job == nullptr) {
        return std::nullopt;
    }
    auto chunks = nlohmann::json::array();
    for (; job->chunks_read < job->chunks.size(); ++job->chunks_read) {
        chunks.push_back({{"output", job->chunks[job->chunks_read]}});
    }
    nlohmann::json out = {{"status", to_string(job->status)}, {"stream", chunks}};
    if (job->error) {
        out["error"] = *job->error;
    }
    return out;
}

std::optional<nlohmann::json> Scheduler::cancel(const std::string& id)
{
    std::lock_guard<std::mutex> lock(mutex_);
    Job* job = find_live_job(id);
    if (job == nullptr) {
        return std::nullopt;
    }
    std::int64_t now = now_ms();
    if (job->status == JobStatus::in_queue) {
        queue_.erase(std::remove(queue_.begin(), queue_.end(), id), queue_.end());
        job->status = JobStatus::cancelled;
        job->ended_ms = now;
    } else if (job->status == JobStatus::in_progress) {
        job->status = JobStatus::cancelled;
        job->ended_ms = now;
        job->next_event_ms = -1;
        if (Worker* worker = find_worker(job->worker_id)) {
            cancel_job(*worker, *job);
            // RunPod stops a worker whose running job is cancelled, shortly after the cancel.
            worker->stop_at_ms = now + config_.cancel_stop_delay_ms;
            spdlog::info("worker {}: job {} cancelled, stopping in {} ms", worker->id, id,
                         config_.cancel_stop_delay_ms);
        }
    }
    job_changed_.notify_all();
    wake_.notify_all();
    return nlohmann::json{{"id", job->id}, {"status", to_string(job->status)}};
}

int Scheduler::purge_queue()
{
    std::lock_guard<std::mutex> lock(mutex_);
    int removed = 0;
    std::int64_t now = now_ms();
    for (const auto& id : queue_) {
        Job& job = jobs_.at(id);
        job.status = JobStatus::cancelled;
        job.ended_ms = now;
        ++removed;
    }
    queue_.clear();
    job_changed_.notify_all();
    return removed;
}

} // namespace emulator
