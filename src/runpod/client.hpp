// Client for one RunPod Serverless queue endpoint: /run, /runsync, /status, /stream,
// /cancel and /health under <base>/<endpoint id>/.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/cancel.hpp"
#include "core/clock.hpp"
#include "http/client.hpp"
#include "runpod/job.hpp"
#include "runpod/retry.hpp"

namespace swarmpod::runpod {

struct EndpointConfig {
    std::string base_url = "https://api.runpod.ai/v2";  // no trailing slash
    std::string endpoint_id;
    std::string api_key;  // sent only as "Authorization: Bearer" to base_url
};

class Client {
public:
    // Throws Error(invalid_argument) for a base URL that is not http(s) or an endpoint id
    // with characters outside [A-Za-z0-9_-], and Error(no_api_key) for an empty key.
    // The key is registered with log::add_secret.
    Client(http::Client& http, EndpointConfig config, RetryPolicy retry = {});

    // POST /run {"input": input}. Sent again only after a 429 or when an attempt certainly
    // did not reach RunPod, so a job is never started twice.
    Job run(const nlohmann::json& input, Deadline deadline, const CancelToken* cancel = nullptr);
    // POST /runsync?wait=<ms> (wait clamped to 1000..90000, and shortened so that wait
    // plus 10 s for the reply fits before the deadline). A non-terminal reply is returned
    // as is; poll status() with its id.
    Job runsync(const nlohmann::json& input, Millis wait, Deadline deadline, const CancelToken* cancel = nullptr);
    Job status(const std::string& job_id, Deadline deadline, const CancelToken* cancel = nullptr);
    StreamReply stream(const std::string& job_id, Deadline deadline, const CancelToken* cancel = nullptr);
    // POST /cancel/<id>. Never cancelled itself: it is how billing stops.
    Job cancel(const std::string& job_id, Deadline deadline);
    Health health(Deadline deadline, const CancelToken* cancel = nullptr);

    const std::string& endpoint_id() const { return config_.endpoint_id; }

private:
    nlohmann::json call(const std::string& method, const std::string& path, const std::string& body, bool is_submit,
                        Deadline deadline, const CancelToken* cancel, Millis timeout);

    http::Client& http_;
    EndpointConfig config_;
    RetryPolicy retry_;
};

// Maps a non-2xx RunPod reply to an Error whose message names the endpoint, the
// operation and the fix: 401/403 → auth, 404 → not_found, 429 → rate_limited,
// 5xx → server, other → bad_response. A 404 on an operation without a job id from a
// `base_url` whose path does not end in /v2 is bad_response, because such a server is
// not RunPod's queue API. HTML and other non-JSON bodies are summarised, never dumped.
Error map_http_error(long status, const std::string& body, const std::string& endpoint_id,
                     const std::string& operation, const std::string& base_url);

}  // namespace swarmpod::runpod
