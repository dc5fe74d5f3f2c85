// Client for the SwarmUI that runs on a worker: sessions, generation over HTTP,
// backend and model listing, interrupt.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/cancel.hpp"
#include "core/clock.hpp"
#include "http/client.hpp"

namespace swarmpod::swarm {

struct WorkerAddress {
    std::string base_url;      // e.g. "https://abc123-7801.proxy.runpod.net", no trailing slash
    std::string bearer_token;  // v2 lease token; empty for v1 workers
};

class Client {
public:
    Client(http::Client& http, WorkerAddress address);

    // POST /API/GetNewSession {} and keep the session id.
    std::string new_session(Deadline deadline, const CancelToken* cancel = nullptr);

    // POST /API/<route> with the current session (created on first use). On
    // invalid_session_id (HTTP 401 or in the body) the session is renewed once and the
    // call repeated. A reply with `error` throws Error(worker) quoting the worker's text
    // and error_id. Returns the reply object.
    nlohmann::json call(const std::string& route, nlohmann::json body, Deadline deadline,
                        const CancelToken* cancel = nullptr);

    // GenerateText2Image over HTTP. `request` is already shaped (images, donotsave);
    // the session id is set here. Returns the `images` strings (data URLs or saved paths).
    std::vector<std::string> generate_http(nlohmann::json request, Deadline deadline,
                                           const CancelToken* cancel = nullptr);

    const WorkerAddress& address() const { return address_; }
    std::string session_id() const;

private:
    http::Response post(const std::string& route, const std::string& body, Deadline deadline,
                        const CancelToken* cancel);

    http::Client& http_;
    WorkerAddress address_;
    mutable std::mutex mutex_;
    std::string session_id_;
};

// Sets `images`, `donotsave`, and removes `exactbackendid` and `internalbackendtype`,
// keeping every other field of SwarmUI's T2IParamInput.ToJSON() body as it is.
nlohmann::json shape_request(nlohmann::json request, int images);

}  // namespace swarmpod::swarm
