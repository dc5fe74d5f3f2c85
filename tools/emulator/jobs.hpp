// Jobs and workers as the emulated RunPod endpoint tracks them, plus the worker image's job handlers.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config.hpp"
#include "worker_server.hpp"

namespace emulator {

enum class JobStatus { in_queue, in_progress, completed, failed, cancelled, timed_out };
const char* to_string(JobStatus status);
bool is_terminal(JobStatus status);

enum class WorkerState { booting, idle, running, stopped };
const char* to_string(WorkerState state);

struct Job {
    std::string id;
    nlohmann::json input;
    std::string action;
    bool sync = false;
    JobStatus status = JobStatus::in_queue;
    std::string worker_id;

    // Times on the emulator clock in ms; -1 = not yet.
    std::int64_t submitted_ms = 0;
    std::int64_t started_ms = -1;
    std::int64_t ended_ms = -1;
    std::int64_t execution_timeout_ms = 0; // 0 = none
    std::int64_t ttl_ms = 0;               // 0 = none
    // Past retention or TTL: kept for the ledger, but the API answers 404.
    bool expired = false;

    std::optional<nlohmann::json> output;
    std::optional<std::string> error;
    // A generator job (v2 lease) shows its chunks as an aggregate list in `output`.
    bool streaming = false;
    std::vector<nlohmann::json> chunks;
    std::size_t chunks_read = 0;

    // When the handler wants to run again (keepalive end, lease check); -1 = never.
    std::int64_t next_event_ms = -1;
    nlohmann::json handler_state = nlohmann::json::object();
};

struct Worker {
    std::string id;
    WorkerState state = WorkerState::booting;
    std::int64_t started_ms = 0;
    std::int64_t ready_ms = 0;
    std::int64_t idle_since_ms = -1;
    std::int64_t stop_at_ms = -1;
    std::int64_t stopped_ms = -1;
    int jobs_run = 0;
    int leases = 0;
    // A stopped worker whose FlashBoot snapshot already served a faster restart.
    bool snapshot_used = false;
    bool flashbooted = false;
    std::string job_id;
    std::string url;
    // Created at boot by the v1 handler and returned by every wakeup, as the real image caches it.
    std::string session_id;
    std::unique_ptr<WorkerServer> server;
};

// Starts `job` on `worker`, which is booted and free. The handler may end the job at once.
void start_job(const Config& config, Worker& worker, Job& job, std::int64_t now);
// Runs the handler's timer for a job whose next_event_ms has passed.
void run_job_timer(const Config& config, Worker& worker, Job& job, std::int64_t now);
// Lets the handler react to a cancel of its running job (the v2 lease revokes its token).
void cancel_job(Worker& worker, Job& job);

void complete_job(Job& job, nlohmann::json output, std::int64_t now);
void fail_job(Job& job, std::string error, std::int64_t now);

} // namespace emulator
