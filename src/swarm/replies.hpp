// Interpretation of the HTTP replies of the SwarmUI API on a worker, including the v2
// gateway's error replies. The functions read a received reply and send nothing.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "http/client.hpp"
#include "swarm/large_strings.hpp"

namespace swarmpod::swarm {

// Meaning of a worker-side failure for the caller.
enum class WorkerState {
    reported_error,  // SwarmUI ran the call and returned an error: fail the generation
    starting,        // v2 gateway, HTTP 503 worker_starting: SwarmUI is booting, wait and retry
    upstream_down,   // v2 gateway, HTTP 502 worker_upstream_down: SwarmUI unreachable, wait and retry
    lease_ended,     // v2 gateway, HTTP 401 worker_unauthorized: the lease token is no longer valid
};

// Error(worker) with the reason the worker failed. Callers that only catch Error see
// the same status and message.
class WorkerError : public Error {
public:
    WorkerError(WorkerState state, const std::string& message, Millis retry_after = Millis(0))
        : Error(Status::worker, message), state_(state), retry_after_(retry_after) {}
    WorkerState state() const noexcept { return state_; }
    // The gateway's Retry-After header; zero when it sent none.
    Millis retry_after() const noexcept { return retry_after_; }

private:
    WorkerState state_;
    Millis retry_after_;
};

// Returns true for a WorkerError after which waiting and calling again can succeed:
// worker_starting (503) and worker_upstream_down (502).
bool is_worker_transient(const Error& error) noexcept;
// Returns true for a WorkerError saying the lease ended (401 worker_unauthorized): drop
// the lease and lease a worker again.
bool is_lease_ended(const Error& error) noexcept;

// Quotes text from the worker for an error message: cut to `max_chars`, control bytes
// escaped, registered secrets and Bearer values masked.
std::string quote_worker_text(std::string_view text, std::size_t max_chars = 300);

// A reply of POST /API/<route>: the reply object, or `invalid_session` set when the
// worker returned error_id invalid_session_id and the session must be renewed.
struct ApiReply {
    nlohmann::json body;
    bool invalid_session = false;
};

// Interprets the reply to POST /API/<route> from the worker at `host` (host[:port], for
// messages). invalid_session_id with any HTTP status gives `invalid_session`. A gateway
// reply throws WorkerError (see WorkerState), a reply with `error` throws
// WorkerError(reported_error), and a body that is not a JSON object, or is nested deeper
// than kMaxJsonDepth, throws Error(bad_response).
// With `cut_spans`, long string values are cut out of the body before parsing (see
// large_strings.hpp). The reply then contains placeholders for them, and `cut_spans`
// receives their positions in response.body.
ApiReply interpret_reply(const std::string& route, const http::Response& response, const std::string& host,
                         std::vector<TextSpan>* cut_spans = nullptr);

// Throws the error for a non-200 reply to `request_label` ("POST /API/ListBackends"),
// given its body parsed as JSON (null when it is not JSON).
[[noreturn]] void throw_reply_error(const std::string& request_label, const http::Response& response,
                                    const nlohmann::json& parsed, const std::string& host);

// Returns the session id of a GetNewSession reply object. Throws Error(bad_response)
// when it has no non-empty string session_id.
std::string session_id_from_reply(const nlohmann::json& reply, const std::string& host);

// The images of a GenerateText2Image reply: data URLs or saved paths. A long data URL
// stays in the reply text it came in, so it is never copied.
struct ReplyImages {
    std::string text;  // the reply body that `spans` point into
    struct Entry {
        std::string value;             // the image when it was parsed
        std::optional<TextSpan> span;  // where it lies in `text` when it was cut out
    };
    std::vector<Entry> entries;

    std::size_t size() const { return entries.size(); }
    // The image at `index`; valid while this object lives and is not changed.
    std::string_view view(std::size_t index) const;
};

// Returns the `images` of a GenerateText2Image reply object parsed from `text` with the
// long values in `spans` cut out. Throws WorkerError(reported_error) when it has none and
// Error(bad_response) for an entry that is not a string or names no cut value.
ReplyImages images_from_reply(nlohmann::json reply, std::string text, const std::vector<TextSpan>& spans,
                              const std::string& host);
// The same for a reply parsed whole: the images as strings.
std::vector<std::string> images_from_reply(nlohmann::json reply, const std::string& host);

// Throws Error(bad_response) unless a ListModels reply object has a `files` array.
void check_model_list(const nlohmann::json& reply, const std::string& subtype, const std::string& host);

}  // namespace swarmpod::swarm
