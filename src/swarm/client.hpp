// Client for the SwarmUI that runs on a worker: sessions, generation over HTTP,
// backend and model listing, interrupt.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/cancel.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "http/client.hpp"
#include "swarm/replies.hpp"
#include "swarm/replies.hpp"

namespace swarmpod::swarm {

struct WorkerAddress {
    std::string base_url;      // e.g. "https://abc123-7801.proxy.runpod.net", no trailing slash
    std::string bearer_token;  // v2 lease token; empty for v1 workers
};

class Client {
public:
    // Throws Error(invalid_argument) unless base_url starts with http:// or https://.
    Client(http::Client& http, WorkerAddress address);

    // POST /API/GetNewSession {} and keep the session id.
    std::string new_session(Deadline deadline, const CancelToken* cancel = nullptr);

    // POST /API/<route> with the current session (created on first use). On
    // invalid_session_id (HTTP 401 or in the body) the session is renewed once and the
    // call repeated. A reply with `error` throws Error(worker) quoting the worker's text
    // and error_id; gateway replies throw WorkerError (see WorkerState). Returns the
    // reply object.
    nlohmann::json call(const std::string& route, nlohmann::json body, Deadline deadline,
                        const CancelToken* cancel = nullptr);

    // GenerateText2Image over HTTP. `request` is already shaped (images, donotsave);
    // the session id is set here. Returns the `images` strings (data URLs or saved paths).
    // Throws Error(worker) when the reply has no images and no error.
    // Long data URLs stay in the reply text (see ReplyImages), so a reply costs its size
    // once, not the several times a whole parse would.
    ReplyImages generate_http(nlohmann::json request, Deadline deadline, const CancelToken* cancel = nullptr);

    // ListBackends with full_data: the reply object keyed by backend id.
    nlohmann::json list_backends(Deadline deadline, const CancelToken* cancel = nullptr);

    // ListModels of one subtype ("Stable-Diffusion", "LoRA", ...), the whole tree, local
    // models only. Returns the reply object with `folders` and `files`.
    nlohmann::json list_models(const std::string& subtype, Deadline deadline,
                               const CancelToken* cancel = nullptr);

    // InterruptAll for this client's session, or for every session of its user when
    // `other_sessions` is true. Without a session and other_sessions false, there is
    // nothing of ours to stop and no request is sent.
    void interrupt(Deadline deadline, const CancelToken* cancel = nullptr, bool other_sessions = false);

    // GET <base_url>/<path> for an image the worker saved instead of inlining (a
    // `View/...` or `Output/...` path from `images`), percent-encoding the path.
    // Throws Error(bad_response), before sending anything, for a path that is empty or
    // absolute, starts with a slash, has a "." or ".." segment or a control byte.
    std::vector<uint8_t> fetch_view(const std::string& path, Deadline deadline,
                                    const CancelToken* cancel = nullptr);

    const WorkerAddress& address() const { return address_; }
    std::string session_id() const;
    // Uses a session opened earlier on this worker; an invalid one is renewed once as usual.
    void use_session(std::string session_id);

private:
    // call() that also returns the reply text, with long string values cut out of the
    // parse when `cut_large` is true (see interpret_reply).
    struct CallResult {
        nlohmann::json body;
        std::string text;
        std::vector<TextSpan> spans;
    };
    CallResult call_with(const std::string& route, nlohmann::json body, Deadline deadline, const CancelToken* cancel,
                         bool cut_large);
    http::Response post(const std::string& route, std::string body, Deadline deadline,
                        const CancelToken* cancel);
    http::Response send(http::Request request, const std::string& request_label, Deadline deadline,
                        const CancelToken* cancel);
    http::Headers common_headers(const char* accept) const;
    std::string renew_session(const std::string& stale, Deadline deadline, const CancelToken* cancel);

    http::Client& http_;
    WorkerAddress address_;
    std::string host_;  // host[:port] of base_url, for logs and messages
    mutable std::mutex mutex_;
    std::string session_id_;
};

// Sets `images`, `donotsave`, and removes `exactbackendid` and `internalbackendtype`,
// keeping every other field of SwarmUI's T2IParamInput.ToJSON() body as it is.
// Throws Error(invalid_argument) unless `request` is an object and images >= 1.
nlohmann::json shape_request(nlohmann::json request, int images);

}  // namespace swarmpod::swarm
