// The HTTP transport of a generation: SwarmUI's GenerateText2Image route, which returns
// every image in one reply.
#include <string>
#include <utility>
#include <vector>

#include "backend/forward_internal.hpp"

namespace swarmpod::backend {

int generate_over_http(Generation& generation, swarm::Client& worker, nlohmann::json shaped) {
    swarm::ReplyImages results;
    try {
        results = worker.generate_http(std::move(shaped), generation.deadline(), &generation.cancel());
    } catch (const Error& error) {
        if (generation.cancel().cancelled()) throw generation.cancelled_error();
        const std::string text = error.what();
        if (text.find("HTTP 524") != std::string::npos) {
            throw Error(Status::timeout,
                        "RunPod's proxy cut the HTTP generation request on worker " + generation.worker_id() +
                            " because it was silent too long (HTTP 524; RunPod cuts after about 100 s). Set "
                            "UseWebSocket to true: the WebSocket route sends progress and keep-alive messages.");
        }
        if (error.status() == Status::too_large) {
            throw Error(Status::too_large,
                        "The GenerateText2Image reply of worker " + generation.worker_id() +
                            " is too large to receive over HTTP, which carries every image in one reply (" + text +
                            "). Set UseWebSocket to true, which receives one image at a time, or ask for fewer or "
                            "smaller images per request.");
        }
        throw;
    }
    for (std::size_t index = 0; index < results.size(); ++index) {
        generation.deliver(static_cast<int>(index), results.view(index), "");
        if (generation.cancel().cancelled()) throw generation.cancelled_error();
    }
    generation.check_all_delivered();
    return generation.delivered();
}

}  // namespace swarmpod::backend
