#include "jobs.hpp"

#include <cmath>

#include <spdlog/spdlog.h>

#include "lease.hpp"

namespace emulator {
namespace {

constexpr const char* v1_version = "0.9.8.2-emulator";

// Renders JSON as Python's repr() shows the same dict (keys in insertion order), which is the text RunPod keeps as a v1 job's error.
std::string python_repr(const nlohmann::ordered_json& value)
{
    switch (value.type()) {
    case nlohmann::ordered_json::value_t::null:
        return "None";
    case nlohmann::ordered_json::value_t::boolean:
        return value.get<bool>() ? "True" : "False";
    case nlohmann::ordered_json::value_t::string: {
        std::string out = "'";
        for (char c : value.get<std::string>()) {
            if (c == '\'' || c == '\\') {
                out.push_back('\\');
            }
            out.push_back(c);
        }
        return out + "'";
    }
    case nlohmann::ordered_json::value_t::array: {
        std::string out = "[";
        for (std::size_t i = 0; i < value.size(); ++i) {
            out += (i > 0 ? ", " : "") + python_repr(value[i]);
        }
        return out + "]";
    }
    case nlohmann::ordered_json::value_t::object: {
        std::string out = "{";
        bool first = true;
        for (const auto& [key, item] : value.items()) {
            out += (first ? "'" : ", '") + key + "': " + python_repr(item);
            first = false;
        }
        return out + "}";
    }
    default:
        return value.dump();
    }
}

std::optional<std::int64_t> integer_input(const nlohmann::json& input, const char* key)
{
    if (!input.contains(key)) {
        return std::nullopt;
    }
    const auto& value = input[key];
    if (value.is_number() && !value.is_boolean()) {
        return static_cast<std::int64_t>(value.get<double>());
    }
    if (value.is_string()) {
        try {
            return std::stoll(value.get<std::string>());
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }
    return std::nullopt;
}

// The v1 handler returns a dict with an "error" key on failure; RunPod then marks the job FAILED and keeps
// the dict only as its Python repr in `error`.
void fail_v1(Job& job, const nlohmann::ordered_json& reply, std::int64_t now)
{
    fail_job(job, python_repr(reply), now);
}

void start_v1(const Config& config, Worker& worker, Job& job, std::int64_t now)
{
    const std::string& action = job.action;
    if (action == "wakeup" || action == "ready") {
        nlohmann::json output = {{"success", true},
                                 {"public_url", worker.url},
                                 {"session_id", worker.session_id},
                                 {"version", v1_version},
                                 {"worker_id", worker.id}};
        if (action == "ready") {
            output["ready"] = true;
        }
        complete_job(job, output, now);
    } else if (action == "health") {
        complete_job(job, {{"healthy", true}, {"public_url", worker.url}, {"worker_id", worker.id}}, now);
    } else if (action == "keepalive") {
        std::int64_t duration = integer_input(job.input, "duration").value_or(3600);
        std::int64_t interval = std::max<std::int64_t>(1, integer_input(job.input, "interval").value_or(30));
        if (duration <= 0) {
            fail_v1(job, nlohmann::ordered_json{{"success", false}, {"error", "duration must be positive"}}, now);
            return;
        }
        job.handler_state = {{"duration", duration}, {"interval", interval}};
        job.next_event_ms = now + duration * 1000;
    } else if (action == "shutdown") {
        complete_job(job, {{"success", true}, {"message", "Shutdown acknowledged"}, {"worker_id", worker.id}}, now);
    } else {
        fail_v1(job,
                nlohmann::ordered_json{{"success", false},
                 {"error", "Unknown action: " + action},
                 {"available_actions", {"wakeup", "ready", "health", "keepalive", "shutdown"}}},
                now);
    }
    (void)config;
}

} // namespace

const char* to_string(JobStatus status)
{
    switch (status) {
    case JobStatus::in_queue:
        return "IN_QUEUE";
    case JobStatus::in_progress:
        return "IN_PROGRESS";
    case JobStatus::completed:
        return "COMPLETED";
    case JobStatus::failed:
        return "FAILED";
    case JobStatus::cancelled:
        return "CANCELLED";
    case JobStatus::timed_out:
        return "TIMED_OUT";
    }
    return "UNKNOWN";
}

bool is_terminal(JobStatus status)
{
    return status != JobStatus::in_queue && status != JobStatus::in_progress;
}

const char* to_string(WorkerState state)
{
    switch (state) {
    case WorkerState::booting:
        return "booting";
    case WorkerState::idle:
        return "idle";
    case WorkerState::running:
        return "running";
    case WorkerState::stopped:
        return "stopped";
    }
    return "unknown";
}

void complete_job(Job& job, nlohmann::json output, std::int64_t now)
{
    if (!job.streaming) {
        job.chunks.push_back(output);
    }
    job.output = std::move(output);
    job.status = JobStatus::completed;
    job.ended_ms = now;
    job.next_event_ms = -1;
}

void fail_job(Job& job, std::string error, std::int64_t now)
{
    job.error = std::move(error);
    job.status = JobStatus::failed;
    job.ended_ms = now;
    job.next_event_ms = -1;
}

void start_job(const Config& config, Worker& worker, Job& job, std::int64_t now)
{
    job.status = JobStatus::in_progress;
    job.started_ms = now;
    job.worker_id = worker.id;
    if (config.protocol == WorkerProtocol::v2) {
        start_lease_job(config, worker, job, now);
    } else {
        start_v1(config, worker, job, now);
    }
}

void run_job_timer(const Config& config, Worker& worker, Job& job, std::int64_t now)
{
    if (config.protocol == WorkerProtocol::v2) {
        run_lease_timer(config, worker, job, now);
        return;
    }
    if (job.action == "keepalive") {
        auto duration = job.handler_state["duration"].get<std::int64_t>();
        auto interval = job.handler_state["interval"].get<std::int64_t>();
        complete_job(job,
                     {{"success", true},
                      {"public_url", worker.url},
                      {"worker_id", worker.id},
                      {"pings", (duration + interval - 1) / interval},
                      {"failures", 0},
                      {"duration", duration},
                      {"interval", interval}},
                     now);
    }
}

void cancel_job(Worker& worker, Job& job)
{
    if (job.streaming && worker.server) {
        // The v2 lease revokes its token before anything else; no final output is produced.
        worker.server->set_token(std::nullopt);
    }
}

} // namespace emulator
