#include "worker/worker_outputs.hpp"

#include "core/error.hpp"
#include "worker/protocol.hpp"

namespace swarmpod::worker {

using nlohmann::json;
using runpod::Job;
using runpod::JobState;

std::string describe_job_failure(const Job& job) {
    std::string text = job.error;
    if (text.empty() && !job.output.is_null()) text = job.output.dump();
    if (text.size() > 400) text = text.substr(0, 400) + "...";
    return text.empty() ? "no error text" : text;
}

WakeupOutput parse_wakeup_output(const Job& job) {
    if (job.state != JobState::completed) {
        if (is_v2_unknown_action(job)) {
            throw ProtocolMismatch(2, "The worker rejected the v1 'wakeup' action: it runs the v2 (lease) image.");
        }
        throw Error(Status::job_failed, "The RunPod wakeup job " + job.id + " ended " +
                                            runpod::job_state_name(job.state) + ": " + describe_job_failure(job) +
                                            ". Check the worker logs in the RunPod console.");
    }
    const json& out = job.output;
    if (out.is_object() && out.value("error_id", "") == "unknown_action") {
        throw ProtocolMismatch(2, "The worker rejected the v1 'wakeup' action: it runs the v2 (lease) image.");
    }
    if (!out.is_object() || !out.value("success", false)) {
        const std::string reason =
            out.is_object() ? out.value("error", std::string("no error text")) : describe_job_failure(job);
        throw Error(Status::worker, "The worker reported a failed wakeup: " + reason);
    }
    if (!out.contains("public_url") || !out["public_url"].is_string() || out["public_url"].get<std::string>().empty()) {
        throw Error(Status::bad_response, "The wakeup job " + job.id +
                                              " completed without the worker's public_url; the endpoint does not run "
                                              "a SwarmUI RunPod worker image.");
    }
    WakeupOutput wakeup;
    wakeup.public_url = out["public_url"].get<std::string>();
    wakeup.worker_id = out.value("worker_id", job.worker_id);
    if (wakeup.worker_id.empty()) wakeup.worker_id = job.worker_id;
    return wakeup;
}

LeaseOutput parse_lease_output(const json& out, const Job& job) {
    if (!out.is_object()) {
        throw Error(Status::bad_response, "The lease job " + job.id + " streamed " + out.dump().substr(0, 200) +
                                              " instead of a lease object.");
    }
    if (out.value("error_id", "") == "unknown_action" || out.value("error", "").find("Unknown action") == 0) {
        // The v1 image answers "Unknown action: lease"; the v2 image names the action in quotes.
        if (out.value("error", "").find("Unknown action: lease") != std::string::npos) {
            throw ProtocolMismatch(1, "The worker does not know the 'lease' action: it runs the v1 image.");
        }
    }
    if (!out.value("success", false)) {
        const std::string reason = out.value("error", std::string("no error text"));
        if (reason.find("Unknown action: lease") != std::string::npos) {
            throw ProtocolMismatch(1, "The worker does not know the 'lease' action: it runs the v1 image.");
        }
        throw Error(Status::worker, "The RunPod worker refused the lease: " + reason +
                                        (out.contains("error_id") ? " (error_id " + out.value("error_id", "") + ")" : ""));
    }
    LeaseOutput lease;
    lease.protocol = out.value("protocol", 0);
    lease.public_url = out.value("public_url", "");
    lease.token = out.value("token", "");
    if (lease.protocol < 2 || lease.public_url.empty() || lease.token.empty()) {
        throw Error(Status::worker,
                    "The RunPod worker's lease output has no protocol 2 URL and token: the worker image is too old. "
                    "Point the endpoint at a SwarmUI worker image with leases (2.0.0 or later), or set WorkerProtocol "
                    "to \"v1\".");
    }
    lease.worker_id = out.value("worker_id", job.worker_id);
    if (lease.worker_id.empty()) lease.worker_id = job.worker_id;
    auto limit = [&](const char* key) -> std::optional<double> {
        const json& value = out.contains(key) ? out[key] : json();
        if (!value.is_number()) return std::nullopt;
        return value.get<double>();
    };
    lease.idle_seconds = limit("idle_seconds");
    lease.startup_grace_seconds = limit("startup_grace_seconds");
    lease.max_lease_seconds = limit("max_lease_seconds");
    return lease;
}

std::optional<json> first_lease_output(const Job& job) {
    if (job.output.is_array() && !job.output.empty()) return job.output.front();
    if (job.output.is_object() && job.output.contains("token")) return job.output;
    return std::nullopt;
}

std::string lease_release_reason(const Job& job) {
    if (job.output.is_array()) {
        for (const json& chunk : job.output) {
            if (chunk.is_object() && chunk.value("released", false)) return chunk.value("reason", "released");
        }
    }
    if (job.output.is_object() && job.output.value("released", false)) return job.output.value("reason", "released");
    return std::string("job ") + runpod::job_state_name(job.state);
}

}  // namespace swarmpod::worker
