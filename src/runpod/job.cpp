#include "runpod/job.hpp"

#include <cmath>
#include <limits>

#include "core/error.hpp"

namespace swarmpod::runpod {

namespace {

using nlohmann::json;

void require_object(const json& reply, const char* reply_kind) {
    if (!reply.is_object()) {
        throw Error(Status::bad_response, std::string("RunPod ") + reply_kind + " reply is not a JSON object (got " +
                                              reply.type_name() + ").");
    }
}

// Reads an integer that RunPod may send as an integer, a float or a numeric string.
std::optional<int64_t> lenient_integer(const json& value) {
    if (value.is_number_integer()) {
        if (value.is_number_unsigned()) {
            const auto number = value.get<uint64_t>();
            if (number > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
            return static_cast<int64_t>(number);
        }
        return value.get<int64_t>();
    }
    if (value.is_number_float()) {
        const double number = value.get<double>();
        if (!std::isfinite(number) || std::fabs(number) > 9.0e18) return std::nullopt;
        return static_cast<int64_t>(std::llround(number));
    }
    if (value.is_string()) {
        const std::string& text = value.get_ref<const std::string&>();
        try {
            std::size_t used = 0;
            const long long number = std::stoll(text, &used);
            if (used == text.size()) return number;
        } catch (const std::logic_error&) {
        }
    }
    return std::nullopt;
}

std::optional<int64_t> optional_integer(const json& object, const char* key) {
    const auto found = object.find(key);
    if (found == object.end()) return std::nullopt;
    return lenient_integer(*found);
}

int64_t counter(const json& object, const char* key) {
    if (!object.is_object()) return 0;
    return optional_integer(object, key).value_or(0);
}

std::string required_string(const json& reply, const char* key) {
    const auto found = reply.find(key);
    if (found == reply.end() || !found->is_string()) {
        throw Error(Status::bad_response,
                    std::string("RunPod job reply has no string '") + key +
                        (found == reply.end() ? "' field." : "' field (it is " + std::string(found->type_name()) + ")."));
    }
    return found->get<std::string>();
}

}  // namespace

JobState parse_job_state(std::string_view text) noexcept {
    if (text == "IN_QUEUE") return JobState::in_queue;
    if (text == "IN_PROGRESS" || text == "RUNNING") return JobState::in_progress;
    if (text == "COMPLETED") return JobState::completed;
    if (text == "FAILED") return JobState::failed;
    if (text == "CANCELLED") return JobState::cancelled;
    if (text == "TIMED_OUT") return JobState::timed_out;
    return JobState::unknown;
}

const char* job_state_name(JobState state) noexcept {
    switch (state) {
        case JobState::in_queue: return "IN_QUEUE";
        case JobState::in_progress: return "IN_PROGRESS";
        case JobState::completed: return "COMPLETED";
        case JobState::failed: return "FAILED";
        case JobState::cancelled: return "CANCELLED";
        case JobState::timed_out: return "TIMED_OUT";
        case JobState::unknown: break;
    }
    return "UNKNOWN";
}

bool is_terminal(JobState state) noexcept {
    return state == JobState::completed || state == JobState::failed || state == JobState::cancelled ||
           state == JobState::timed_out;
}

Job parse_job(const json& reply) {
    require_object(reply, "job");
    Job job;
    job.id = required_string(reply, "id");
    job.status_text = required_string(reply, "status");
    job.state = parse_job_state(job.status_text);

    if (const auto output = reply.find("output"); output != reply.end()) job.output = *output;

    if (const auto error = reply.find("error"); error != reply.end() && !error->is_null()) {
        job.error = error->is_string() ? error->get<std::string>() : error->dump();
    }
    job.delay_ms = optional_integer(reply, "delayTime");
    job.execution_ms = optional_integer(reply, "executionTime");
    if (const auto worker = reply.find("workerId"); worker != reply.end() && worker->is_string()) {
        job.worker_id = worker->get<std::string>();
    }
    return job;
}

StreamReply parse_stream(const json& reply) {
    require_object(reply, "stream");
    StreamReply result;
    if (const auto status = reply.find("status"); status != reply.end() && status->is_string()) {
        result.status_text = status->get<std::string>();
        result.state = parse_job_state(result.status_text);
    }
    const auto stream = reply.find("stream");
    if (stream == reply.end() || !stream->is_array()) return result;
    for (const json& entry : *stream) {
        // Chunks are {"output": ...}, sometimes with extra keys; anything else is skipped.
        if (!entry.is_object()) continue;
        const auto output = entry.find("output");
        if (output == entry.end()) continue;
        result.chunks.push_back(StreamChunk{*output});
    }
    return result;
}

Health parse_health(const json& reply) {
    require_object(reply, "health");
    Health health;
    static const json kEmpty = json::object();
    const auto jobs_found = reply.find("jobs");
    const json& jobs = jobs_found != reply.end() ? *jobs_found : kEmpty;
    const auto workers_found = reply.find("workers");
    const json& workers = workers_found != reply.end() ? *workers_found : kEmpty;

    health.jobs_completed = counter(jobs, "completed");
    health.jobs_failed = counter(jobs, "failed");
    health.jobs_in_progress = counter(jobs, "inProgress");
    health.jobs_in_queue = counter(jobs, "inQueue");
    health.jobs_retried = counter(jobs, "retried");
    health.workers_idle = counter(workers, "idle");
    health.workers_initializing = counter(workers, "initializing");
    health.workers_ready = counter(workers, "ready");
    health.workers_running = counter(workers, "running");
    health.workers_throttled = counter(workers, "throttled");
    health.workers_unhealthy = counter(workers, "unhealthy");
    return health;
}

}  // namespace swarmpod::runpod
