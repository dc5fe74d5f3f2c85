// swarm::interpret_reply and the per-route readers on any HTTP reply of the SwarmUI API
// on a worker, or of the v2 gateway in front of it. The input is one header line
// "<HTTP status> <Retry-After value or -> <route>" and then the reply body. Error
// (WorkerError included) is the documented rejection, and any other exception or a crash is
// a bug.
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "http/client.hpp"
#include "swarm/replies.hpp"

namespace {

using swarmpod::swarm::WorkerError;
using swarmpod::swarm::WorkerState;

// The gateway states must come only from the statuses the gateway sends them with.
void check_worker_error(const WorkerError& error, long status) {
    if (error.state() == WorkerState::starting && status != 503) std::abort();
    if (error.state() == WorkerState::upstream_down && status != 502) std::abort();
    if (error.state() == WorkerState::lease_ended && status != 401) std::abort();
    if (error.retry_after().count() < 0) std::abort();
}

void read_route(const std::string& route, const nlohmann::json& body) {
    if (route == "GetNewSession") {
        if (swarmpod::swarm::session_id_from_reply(body, "worker.test").empty()) std::abort();
    } else if (route == "GenerateText2Image") {
        if (swarmpod::swarm::images_from_reply(body, "worker.test").empty()) std::abort();
    } else if (route == "ListModels") {
        swarmpod::swarm::check_model_list(body, "Stable-Diffusion", "worker.test");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::size_t line_end = input.find('\n');
    if (line_end == std::string_view::npos) return 0;
    const std::string line(input.substr(0, line_end));
    const std::size_t first_space = line.find(' ');
    const std::size_t second_space = line.find(' ', first_space == std::string::npos ? 0 : first_space + 1);
    if (first_space == std::string::npos || second_space == std::string::npos) return 0;
    const std::string status_text = line.substr(0, first_space);
    if (status_text.empty() || status_text.size() > 3 ||
        status_text.find_first_not_of("0123456789") != std::string::npos) {
        return 0;
    }

    swarmpod::http::Response response;
    response.status = std::stol(status_text);
    const std::string retry_after = line.substr(first_space + 1, second_space - first_space - 1);
    if (retry_after != "-") response.headers.emplace_back("retry-after", retry_after);
    response.body = std::string(input.substr(line_end + 1));
    const std::string route = line.substr(second_space + 1);

    try {
        swarmpod::swarm::ApiReply reply = swarmpod::swarm::interpret_reply(route, response, "worker.test");
        if (reply.invalid_session) return 0;
        if (response.status != 200 || !reply.body.is_object()) std::abort();
        read_route(route, reply.body);
    } catch (const WorkerError& error) {
        check_worker_error(error, response.status);
    } catch (const swarmpod::Error&) {
    }
    return 0;
}
