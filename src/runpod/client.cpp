#include "runpod/client.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <optional>
#include <thread>

#include "core/json_limits.hpp"
#include "log/log.hpp"

namespace swarmpod::runpod {

namespace {

using nlohmann::json;

constexpr Millis kDefaultRequestTimeout{30000};
constexpr Millis kConnectTimeout{10000};
// RunPod returns a non-terminal job from /runsync after about 90 s instead of holding
// the connection longer, and the official SDKs never send a larger wait.
constexpr Millis kRunsyncMinWait{1000};
constexpr Millis kRunsyncMaxWait{90000};
// Extra HTTP time on top of the runsync wait, so the reply (and its job id) can arrive.
constexpr Millis kRunsyncReplyMargin{10000};
constexpr std::size_t kMaxIdLength = 128;
constexpr std::size_t kSummaryLength = 200;

bool is_id_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-'; }

// Ids become URL path segments, so only characters that need no escaping are allowed.
void check_id(const std::string& id, const char* field) {
    if (id.empty()) {
        throw Error(Status::invalid_argument, std::string("The RunPod ") + field + " is empty; set it.");
    }
    if (id.size() > kMaxIdLength || !std::all_of(id.begin(), id.end(), is_id_char)) {
        const std::string shown_id = log::redact(id.substr(0, 64)) + (id.size() > 64 ? "..." : "");
        throw Error(Status::invalid_argument,
                    std::string("The RunPod ") + field + " '" + shown_id +
                        "' is invalid: use only letters, digits, '_' and '-' (at most 128 characters).");
    }
}

bool starts_with_ignore_case(const std::string& text, std::string_view prefix) {
    if (text.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
    }
    return true;
}

// "/status" for "status/abc-u1", "/runsync" for "runsync?wait=5000".
std::string operation_of(const std::string& path) { return "/" + path.substr(0, path.find_first_of("/?")); }

bool names_a_job(const std::string& operation) {
    return operation == "/status" || operation == "/stream" || operation == "/cancel";
}

std::string format_seconds(Millis delay) {
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.1f", static_cast<double>(delay.count()) / 1000.0);
    return buffer;
}

bool looks_like_html(std::string_view text) {
    std::string head(text.substr(0, 512));
    std::transform(head.begin(), head.end(), head.begin(),
                   [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
    return (!head.empty() && head.front() == '<') || head.find("<html") != std::string::npos ||
           head.find("<!doctype") != std::string::npos;
}

// Returns at most kSummaryLength bytes of `text` with control characters as spaces,
// redacted, and cut on a UTF-8 character boundary.
std::string printable_prefix(std::string_view text) {
    std::string printable;
    for (char c : text) {
        if (printable.size() >= 2 * kSummaryLength) break;
        const auto byte = static_cast<unsigned char>(c);
        printable.push_back(byte < 0x20 || byte == 0x7f ? ' ' : c);
    }
    // Redact before cutting, so no part of a secret survives the cut.
    std::string redacted = log::redact(printable);
    if (redacted.size() <= kSummaryLength && printable.size() == text.size()) return redacted;
    std::size_t cut = std::min(redacted.size(), kSummaryLength);
    while (cut > 0 && (static_cast<unsigned char>(redacted[cut]) & 0xC0) == 0x80) --cut;
    return redacted.substr(0, cut) + "...";
}

// Describes an error body in a few words: never the whole body, and never HTML.
std::string summarize_body(const std::string& body) {
    std::string_view text(body);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
    if (text.empty()) return "an empty body";
    if (looks_like_html(text)) return "an HTML page";

    const json parsed = json_depth_exceeds(body) ? json(nullptr) : json::parse(body, nullptr, false);
    if (!parsed.is_discarded() && parsed.is_object()) {
        for (const char* key : {"error", "message", "detail"}) {
            const auto found = parsed.find(key);
            if (found != parsed.end() && found->is_string()) return "\"" + printable_prefix(found->get<std::string>()) + "\"";
        }
    }
    return "\"" + printable_prefix(text) + "\"";
}

bool is_success(long status) { return status >= 200 && status < 300; }

// Returns whether the path of `base_url` ends in "/v2", as the queue API bases that RunPod's
// SDKs use do (https://api.runpod.ai/v2, https://dev-api.runpod.ai/v2), and the emulator's.
bool has_runpod_api_path(const std::string& base_url) {
    std::string_view base(base_url);
    while (!base.empty() && base.back() == '/') base.remove_suffix(1);
    const std::size_t scheme_end = base.find("://");
    const std::size_t path_start = base.find('/', scheme_end == std::string_view::npos ? 0 : scheme_end + 3);
    if (path_start == std::string_view::npos) return false;
    const std::string_view path = base.substr(path_start);
    return path.size() >= 3 && path.substr(path.size() - 3) == "/v2";
}

bool is_json_object(const std::string& body) {
    if (json_depth_exceeds(body)) return false;
    const json parsed = json::parse(body, nullptr, false);
    return !parsed.is_discarded() && parsed.is_object();
}

// A 404 on /run, /runsync or /health names no job, so it means either an unknown endpoint
// or an API base that is not RunPod's queue API. The base's path and the body's form tell
// them apart. RunPod does not document its 404 body, so a non-JSON one names both causes.
Error map_endpoint_not_found(const std::string& body, const std::string& endpoint_id, const std::string& operation,
                             const std::string& base_url) {
    const std::string base = "'" + log::redact(base_url) + "'";
    const std::string code = "HTTP 404";
    if (!has_runpod_api_path(base_url)) {
        return Error(Status::bad_response,
                     "The RunPod API base URL " + base + " is not a RunPod Serverless API: it answered " + code +
                         " for " + operation + " on endpoint '" + endpoint_id +
                         "', and its path does not end in /v2. Set ApiBaseUrl to https://api.runpod.ai/v2 (the "
                         "default), or to the emulator's http://127.0.0.1:<port>/v2.");
    }
    if (!is_json_object(body)) {
        return Error(Status::not_found,
                     "RunPod endpoint '" + endpoint_id + "' was not found (" + code + ") during " + operation +
                         ", and the reply (" + summarize_body(body) +
                         ") is not RunPod's JSON: check the Endpoint ID, and that the API base URL " + base +
                         " is a RunPod Serverless API (ApiBaseUrl; the default is https://api.runpod.ai/v2).");
    }
    return Error(Status::not_found, "RunPod endpoint '" + endpoint_id + "' was not found (" + code + ") during " +
                                        operation + ": check the Endpoint ID.");
}

}  // namespace

Error map_http_error(long status, const std::string& body, const std::string& endpoint_id,
                     const std::string& operation, const std::string& base_url) {
    const std::string endpoint = "'" + endpoint_id + "'";
    const std::string code = "HTTP " + std::to_string(status);
    const std::string summary = summarize_body(body);

    if (status == 401 || status == 403) {
        return Error(Status::auth, "RunPod rejected the API key for endpoint " + endpoint + " (" + code +
                                       "). Check the key in the backend settings or in User Settings → API Keys.");
    }
    if (status == 404 && !names_a_job(operation)) {
        return map_endpoint_not_found(body, endpoint_id, operation, base_url);
    }
    if (status == 404) {
        return Error(Status::not_found, "RunPod endpoint " + endpoint + " was not found (" + code + ") during " +
                                            operation + ": check the Endpoint ID, or the job expired.");
    }
    if (status == 429) {
        return Error(Status::rate_limited,
                     "RunPod is rate limiting " + operation + " on endpoint " + endpoint + " (" + code +
                         "). Wait a minute and try again, or lower the number of concurrent generations.");
    }
    if (status >= 500 && status < 600) {
        return Error(Status::server, "RunPod answered " + code + " for " + operation + " on endpoint " + endpoint +
                                         " (" + summary + "). This is usually temporary; try again.");
    }
    if (status == 413) {
        return Error(Status::bad_response, "RunPod rejected the request body of " + operation + " on endpoint " +
                                               endpoint + " as too large (" + code +
                                               "). /run accepts up to 10 MB and /runsync up to 20 MB.");
    }
    return Error(Status::bad_response, "RunPod answered " + code + " for " + operation + " on endpoint " +
                                           endpoint + ": " + summary + ".");
}

Client::Client(http::Client& http, EndpointConfig config, RetryPolicy retry)
    : http_(http), config_(std::move(config)), retry_(retry) {
    std::string& base = config_.base_url;
    if (!starts_with_ignore_case(base, "http://") && !starts_with_ignore_case(base, "https://")) {
        throw Error(Status::invalid_argument, "The RunPod API base URL '" + log::redact(base) +
                                                  "' is invalid: it must start with https:// (or http:// for a "
                                                  "local emulator), for example https://api.runpod.ai/v2.");
    }
    while (!base.empty() && base.back() == '/') base.pop_back();
    check_id(config_.endpoint_id, "endpoint id");

    if (config_.api_key.empty()) {
        throw Error(Status::no_api_key, "No RunPod API key is set for endpoint '" + config_.endpoint_id +
                                            "'. Set one in the backend settings or in User Settings → API Keys.");
    }
    // RunPod keys are printable ASCII; anything else cannot go into an HTTP header as is.
    const bool has_bad_char = std::any_of(config_.api_key.begin(), config_.api_key.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte <= 0x20 || byte >= 0x7f;
    });
    if (has_bad_char) {
        throw Error(Status::invalid_argument, "The RunPod API key for endpoint '" + config_.endpoint_id +
                                                  "' contains spaces, control characters or non-ASCII bytes. Paste "
                                                  "it again without surrounding spaces or line breaks.");
    }
    // NOTE: the key stays registered for the life of the process. A Client can be
    // copied and secrets are reference-counted, so no destructor removes it.
    log::add_secret(config_.api_key);
    if (retry_.max_attempts < 1) retry_.max_attempts = 1;
}

json Client::call(const std::string& method, const std::string& path, const std::string& body, bool is_submit,
                  Deadline deadline, const CancelToken* cancel, Millis timeout) {
    const std::string operation = operation_of(path);
    const std::string& endpoint = config_.endpoint_id;
    const std::string context = "RunPod " + operation + " on endpoint '" + endpoint + "'";
    const int max_attempts = retry_.max_attempts;

    for (int attempt = 1;; ++attempt) {
        if (cancel != nullptr && cancel->cancelled()) throw Error(Status::cancelled, context + " was cancelled.");
        if (deadline.expired()) {
            throw Error(Status::timeout, context + " did not finish before the deadline (attempt " +
                                             std::to_string(attempt) + " of " + std::to_string(max_attempts) +
                                             " was not sent).");
        }

        http::Request request;
        request.method = method;
        request.url = config_.base_url + "/" + endpoint + "/" + path;
        request.headers = {{"Authorization", "Bearer " + config_.api_key}, {"Accept", "application/json"}};
        request.body = body;
        request.timeout = std::max(Millis(1), std::min(timeout, deadline.remaining()));
        request.connect_timeout = std::min(kConnectTimeout, request.timeout);

        std::optional<Error> failure;
        std::optional<Millis> retry_after;
        std::string outcome;  // for the retry log line
        bool retryable = false;
        try {
            const http::Response response = http_.perform(request, cancel);
            if (is_success(response.status)) {
                if (json_depth_exceeds(response.body)) {
                    throw Error(Status::bad_response, "RunPod returned JSON nested deeper than " +
                                                          std::to_string(kMaxJsonDepth) + " levels for " + operation +
                                                          " on endpoint '" + endpoint + "' (HTTP " +
                                                          std::to_string(response.status) + ").");
                }
                json parsed = json::parse(response.body, nullptr, false);
                if (parsed.is_discarded()) {
                    throw Error(Status::bad_response, "RunPod returned something that is not JSON for " + operation +
                                                          " on endpoint '" + endpoint + "' (HTTP " +
                                                          std::to_string(response.status) + ", " +
                                                          summarize_body(response.body) + ").");
                }
                return parsed;
            }
            failure = map_http_error(response.status, response.body, endpoint, operation, config_.base_url);
            // A rejected submit (429) started nothing, but a 5xx one may have started a job.
            retryable = is_retryable_status(response.status) && (!is_submit || response.status == 429);
            if (const auto header = response.header("retry-after")) retry_after = parse_retry_after(*header);
            outcome = "answered HTTP " + std::to_string(response.status);
        } catch (const http::TransportError& error) {
            const http::TransportFailure& transport = error.failure();
            if (transport.status == Status::cancelled) throw Error(Status::cancelled, context + " was cancelled.");
            std::string message = context + " failed: " + transport.message + ".";
            if (transport.certainly_not_sent) {
                // DNS failed or the connection was refused: nothing listens at the API base.
                message += " The RunPod API base URL '" + log::redact(config_.base_url) +
                           "' could not be reached: check ApiBaseUrl (the default is https://api.runpod.ai/v2) and "
                           "the network.";
            }
            // A failed TLS handshake sent no request, so it started nothing either.
            if (is_submit && !transport.certainly_not_sent && transport.status != Status::tls) {
                message += " RunPod may have started the job, so the request was not sent again.";
            }
            failure = Error(transport.status, message);
            const bool transient = transport.status == Status::network || transport.status == Status::timeout;
            retryable = transient && (!is_submit || transport.certainly_not_sent);
            outcome = "failed (" + transport.message + ")";
        }

        if (!retryable || attempt >= max_attempts) throw *failure;
        const Millis delay = backoff_delay(retry_, attempt, retry_after);
        if (delay >= deadline.remaining()) throw *failure;

        SP_DEBUG("RunPod {} for endpoint {} {}; retry {} of {} in {} s", operation, endpoint, outcome, attempt,
                 max_attempts - 1, format_seconds(delay));
        if (cancel != nullptr) {
            if (cancel->wait_for(delay)) throw Error(Status::cancelled, context + " was cancelled.");
        } else {
            std::this_thread::sleep_for(delay);
        }
    }
}

namespace {

// Parses a job reply, naming the operation and endpoint when it is malformed.
Job parse_job_reply(const json& reply, const std::string& operation, const std::string& endpoint_id) {
    try {
        return parse_job(reply);
    } catch (const Error& error) {
        throw Error(error.status(), "RunPod " + operation + " on endpoint '" + endpoint_id + "': " + error.what());
    }
}

std::string input_body(const json& input) {
    try {
        return json{{"input", input}}.dump();
    } catch (const json::type_error& error) {
        throw Error(Status::invalid_argument,
                    std::string("The job input cannot be sent as JSON: ") + error.what() +
                        ". Make sure every string in it is valid UTF-8.");
    }
}

}  // namespace

Job Client::run(const json& input, Deadline deadline, const CancelToken* cancel) {
    const json reply = call("POST", "run", input_body(input), true, deadline, cancel, kDefaultRequestTimeout);
    Job job = parse_job_reply(reply, "/run", config_.endpoint_id);
    SP_DEBUG("RunPod /run on endpoint {} started job {} ({})", config_.endpoint_id, job.id, job.status_text);
    return job;
}

Job Client::runsync(const json& input, Millis wait, Deadline deadline, const CancelToken* cancel) {
    Millis wait_ms = std::clamp(wait, kRunsyncMinWait, kRunsyncMaxWait);
    // A client-side timeout on /runsync loses the job id while the job runs on, so the
    // wait is shortened to let the reply arrive before the deadline.
    const Millis room = deadline.remaining() - kRunsyncReplyMargin;
    if (room < wait_ms) wait_ms = std::max(kRunsyncMinWait, room);

    const std::string path = "runsync?wait=" + std::to_string(wait_ms.count());
    const json reply =
        call("POST", path, input_body(input), true, deadline, cancel, wait_ms + kRunsyncReplyMargin);
    Job job = parse_job_reply(reply, "/runsync", config_.endpoint_id);
    SP_DEBUG("RunPod /runsync on endpoint {} returned job {} ({})", config_.endpoint_id, job.id, job.status_text);
    return job;
}

Job Client::status(const std::string& job_id, Deadline deadline, const CancelToken* cancel) {
    check_id(job_id, "job id");
    const json reply = call("GET", "status/" + job_id, "", false, deadline, cancel, kDefaultRequestTimeout);
    return parse_job_reply(reply, "/status", config_.endpoint_id);
}

StreamReply Client::stream(const std::string& job_id, Deadline deadline, const CancelToken* cancel) {
    check_id(job_id, "job id");
    const json reply = call("GET", "stream/" + job_id, "", false, deadline, cancel, kDefaultRequestTimeout);
    try {
        return parse_stream(reply);
    } catch (const Error& error) {
        throw Error(error.status(), "RunPod /stream on endpoint '" + config_.endpoint_id + "': " + error.what());
    }
}

Job Client::cancel(const std::string& job_id, Deadline deadline) {
    check_id(job_id, "job id");
    // No cancel token: this call is what stops a job from billing, so it must go through.
    const json reply = call("POST", "cancel/" + job_id, "{}", false, deadline, nullptr, kDefaultRequestTimeout);
    Job job = parse_job_reply(reply, "/cancel", config_.endpoint_id);
    SP_DEBUG("RunPod /cancel on endpoint {} for job {} returned {}", config_.endpoint_id, job.id, job.status_text);
    return job;
}

Health Client::health(Deadline deadline, const CancelToken* cancel) {
    const json reply = call("GET", "health", "", false, deadline, cancel, kDefaultRequestTimeout);
    try {
        return parse_health(reply);
    } catch (const Error& error) {
        throw Error(error.status(), "RunPod /health on endpoint '" + config_.endpoint_id + "': " + error.what());
    }
}

}  // namespace swarmpod::runpod
