#include "worker/readiness.hpp"

#include <algorithm>

#include "core/json_fields.hpp"
#include "log/log.hpp"
#include "swarm/client.hpp"

namespace swarmpod::worker {
namespace {

using nlohmann::json;

// The last error lines the worker's SwarmUI logged, for the "backend errored" message.
std::string recent_error_lines(swarm::Client& client) {
    try {
        json reply = client.call("ListRecentLogMessages", json{{"types", json::array({"Error"})},
                                                                {"last_sequence_ids", json::object()}},
                                 Deadline::in(Millis(20000)));
        return recent_error_text(reply);
    } catch (const std::exception& error) {
        SP_DEBUG("Reading the worker's recent errors failed: {}", error.what());
        return "";
    }
}

}  // namespace

BackendCounts count_backends(const json& reply) {
    BackendCounts counts;
    if (!reply.is_object()) return counts;
    for (const auto& [id, backend] : reply.items()) {
        if (!backend.is_object()) continue;
        ++counts.total;
        const std::string status = string_member(backend, "status");
        if (status == "running") ++counts.running;
        else if (status == "loading" || status == "waiting") ++counts.loading;
        else if (status == "errored" || status == "disabled") {
            ++counts.failed;
            if (counts.failed_summary.empty()) {
                counts.failed_summary = string_member(backend, "type", "backend " + id) + "=" + status;
            }
        }
    }
    return counts;
}

std::string recent_error_text(const json& reply) {
    std::vector<std::string> lines;
    const json& messages = reply.contains("data") ? reply["data"] : reply;
    for (const auto& [type, entries] : messages.items()) {
        if (!entries.is_array()) continue;
        for (const json& entry : entries) {
            if (entry.is_object() && entry.contains("message")) lines.push_back(string_member(entry, "message"));
        }
    }
    std::string text;
    for (std::size_t i = lines.size() > 2 ? lines.size() - 2 : 0; i < lines.size(); ++i) {
        text += (text.empty() ? "" : " | ") + lines[i];
    }
    return text.substr(0, 600);
}

void wait_until_ready(http::Client& http, const Lease& lease, const ReadinessLimits& limits, const CancelToken& cancel,
                      const LifecycleFn& report) {
    swarm::Client client(http, swarm::WorkerAddress{lease.public_url, lease.token});
    const Clock::time_point started = Clock::now();
    Clock::time_point failed_since{};
    bool answered = false;
    std::string last_error;
    PollSchedule schedule(limits.max_poll_interval);

    while (true) {
        if (cancel.cancelled()) throw Error(Status::cancelled, "Cancelled while the worker's SwarmUI was starting.");
        if (limits.deadline.remaining() < Millis(20)) {
            throw Error(Status::timeout, "Worker " + lease.worker_id +
                                             " did not bring up a usable SwarmUI backend within the startup timeout" +
                                             (last_error.empty() ? "." : " (last error: " + last_error + ")."));
        }
        Millis wait = schedule.next();
        try {
            const json reply = client.call("ListBackends", json{{"nonreal", true}, {"full_data", true}},
                                           Deadline::in(std::min(Millis(30000), limits.deadline.remaining())), &cancel);
            answered = true;
            const BackendCounts counts = count_backends(reply);
            if (counts.running > 0 && counts.loading == 0) return;
            const auto waited = Clock::now() - started;
            if (counts.total == 0 && waited >= limits.no_backend_after) {
                throw Error(Status::worker, "Worker " + lease.worker_id +
                                                " runs SwarmUI with no backend configured, so it cannot generate. "
                                                "Check the worker image.");
            }
            if (counts.total > 0 && counts.failed == counts.total) {
                if (failed_since == Clock::time_point{}) failed_since = Clock::now();
                if (Clock::now() - failed_since >= limits.errored_after) {
                    const std::string lines = recent_error_lines(client);
                    throw Error(Status::worker, "Worker " + lease.worker_id +
                                                    " could not start its generation backend (" +
                                                    counts.failed_summary + "). " +
                                                    (lines.empty() ? "Check the worker's logs in the RunPod console."
                                                                   : "The worker reported: " + lines));
                }
            } else {
                failed_since = Clock::time_point{};
            }
            report(kPhaseLoadingBackends,
                   "Worker " + lease.worker_id + " is loading its backends (" +
                       whole_seconds(seconds_since(lease.requested_at)) + " s)",
                   lease.worker_id);
        } catch (const swarm::WorkerError& error) {
            if (swarm::is_lease_ended(error)) throw;
            if (!swarm::is_worker_transient(error)) throw;
            answered = true;
            last_error = error.what();
            if (error.retry_after() > Millis(0)) wait = std::min(error.retry_after(), limits.max_poll_interval);
            report(kPhaseLoadingBackends, "Worker " + lease.worker_id + "'s SwarmUI is starting", lease.worker_id);
        } catch (const http::TransportError& error) {
            // An untrusted certificate or a name mismatch does not go away by waiting.
            if (error.status() == Status::cancelled || error.status() == Status::tls) throw;
            last_error = error.what();
            if (!answered && Clock::now() - started >= limits.never_answered_after) {
                throw Error(Status::worker, "Worker " + lease.worker_id + " was assigned but never answered at " +
                                                lease.public_url + " (last error: " + last_error +
                                                "). The endpoint must expose port 7801 as HTTP.");
            }
        } catch (const Error& error) {
            // A call that timed out (or had no time left to be sent) is retried until the
            // startup deadline, which the top of the loop reports with what was seen.
            if (error.status() != Status::timeout) throw;
            // Keep the earlier, more telling error when this one only says time ran out.
            if (last_error.empty() || limits.deadline.remaining() >= Millis(100)) last_error = error.what();
            continue;
        }
        cancel.wait_for(std::min(wait, limits.deadline.remaining()));
    }
}

}  // namespace swarmpod::worker
