// HTTP client for the SwarmUI API on a worker, including the v2 gateway's replies.
#include "swarm/client.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string_view>
#include <utility>

#include "core/json_limits.hpp"
#include "log/log.hpp"

namespace swarmpod::swarm {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxQuotedChars = 300;
constexpr Millis kMaxConnectTimeout{10000};

// Quotes text from the worker for an error message: cut to `max_chars`, control bytes
// escaped, registered secrets and Bearer values masked.
std::string quote(std::string_view text, std::size_t max_chars = kMaxQuotedChars) {
    std::string out = "'";
    const std::size_t kept = std::min(text.size(), max_chars);
    for (std::size_t i = 0; i < kept; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c == 0x7f) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02X", c);
            out += escaped;
        } else {
            out += static_cast<char>(c);
        }
    }
    out += "'";
    if (text.size() > max_chars) out += "... (" + std::to_string(text.size()) + " bytes)";
    return log::redact(out);
}

// Returns host[:port] of an http(s) URL, without any user:password@ part.
std::string host_of(const std::string& url) {
    std::size_t start = url.find("://");
    start = start == std::string::npos ? 0 : start + 3;
    std::size_t end = url.find_first_of("/?#", start);
    if (end == std::string::npos) end = url.size();
    std::string authority = url.substr(start, end - start);
    const std::size_t at = authority.rfind('@');
    if (at != std::string::npos) authority.erase(0, at + 1);
    return authority;
}

std::string string_field(const json& object, const char* key) {
    if (!object.is_object()) return "";
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return "";
    return it->is_string() ? it->get<std::string>() : it->dump();
}

// Formats ": <text> (error_id <id>)" for whichever of the two the worker sent.
std::string describe_worker_error(const json& parsed) {
    const std::string text = string_field(parsed, "error");
    const std::string error_id = string_field(parsed, "error_id");
    std::string out;
    if (!text.empty()) out += ": " + quote(text, 1000);
    if (!error_id.empty()) out += " (error_id " + quote(error_id, 80) + ")";
    return out;
}

// Reads a Retry-After given in seconds. An HTTP date or a missing header gives zero.
Millis parse_retry_after(const http::Response& response) {
    const std::optional<std::string> value = response.header("retry-after");
    if (!value || value->empty() || value->size() > 6) return Millis(0);
    long seconds = 0;
    for (const char c : *value) {
        if (c < '0' || c > '9') return Millis(0);
        seconds = seconds * 10 + (c - '0');
    }
    return Millis(seconds * 1000);
}

bool is_unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

// Percent-encodes every byte of `path` except unreserved characters and '/', so names
// with spaces, '#', '?', '%' or UTF-8 reach SwarmUI as the same file name.
std::string encode_path(const std::string& path) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(path.size() * 3 / 2);
    for (const char ch : path) {
        const auto c = static_cast<unsigned char>(ch);
        if (is_unreserved(c) || c == '/') {
            out += ch;
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

// Rejects paths that would leave the worker's base URL: absolute URLs, a leading
// '/' or '\', "." or ".." segments and control bytes.
void check_view_path(const std::string& path) {
    auto reject = [&](const char* why) {
        throw Error(Status::bad_response, "The worker returned an image path that cannot be fetched (" +
                                              std::string(why) + "): " + quote(path, 200) +
                                              ". Expected a relative path such as 'View/local/raw/...png'.");
    };
    if (path.empty()) reject("it is empty");
    if (path.find("://") != std::string::npos) reject("it is an absolute URL");
    if (path.front() == '/' || path.front() == '\\') reject("it starts with a slash");
    for (const char ch : path) {
        if (static_cast<unsigned char>(ch) < 0x20) reject("it contains a control character");
    }
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find_first_of("/\\", start);
        if (end == std::string::npos) end = path.size();
        const std::string_view segment(path.data() + start, end - start);
        if (segment == ".." || segment == ".") reject("it contains a '.' or '..' segment");
        start = end + 1;
    }
}

const WorkerError* as_worker_error(const Error& error) noexcept { return dynamic_cast<const WorkerError*>(&error); }

}  // namespace

bool is_worker_transient(const Error& error) noexcept {
    const WorkerError* worker = as_worker_error(error);
    return worker != nullptr &&
           (worker->state() == WorkerState::starting || worker->state() == WorkerState::upstream_down);
}

bool is_lease_ended(const Error& error) noexcept {
    const WorkerError* worker = as_worker_error(error);
    return worker != nullptr && worker->state() == WorkerState::lease_ended;
}

Client::Client(http::Client& http, WorkerAddress address) : http_(http), address_(std::move(address)) {
    while (!address_.base_url.empty() && address_.base_url.back() == '/') address_.base_url.pop_back();
    const std::string& url = address_.base_url;
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
        throw Error(Status::invalid_argument, "The worker's SwarmUI URL must start with http:// or https://, got " +
                                                  quote(url, 100) + ".");
    }
    host_ = host_of(url);
}

std::string Client::session_id() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return session_id_;
}

http::Headers Client::common_headers(const char* accept) const {
    http::Headers headers;
    headers.emplace_back("Accept", accept);
    if (!address_.bearer_token.empty()) headers.emplace_back("Authorization", "Bearer " + address_.bearer_token);
    return headers;
}

http::Response Client::send(http::Request request, const std::string& request_label, Deadline deadline,
                            const CancelToken* cancel) {
    if (deadline.expired()) {
        throw Error(Status::timeout,
                    "Timed out before " + request_label + " on the worker at " + host_ + " could be sent.");
    }
    // The whole transfer gets the rest of the caller's deadline, because
    // GenerateText2Image replies only when every image is done.
    request.timeout = std::max(Millis(1), deadline.remaining());
    request.connect_timeout = std::min(request.timeout, kMaxConnectTimeout);
    SP_DEBUG("{} on the worker at {}", request_label, host_);
    return http_.perform(request, cancel);
}

http::Response Client::post(const std::string& route, std::string body, Deadline deadline,
                            const CancelToken* cancel) {
    http::Request request;
    request.method = "POST";
    request.url = address_.base_url + "/API/" + route;
    request.headers = common_headers("application/json");
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = std::move(body);
    return send(std::move(request), "POST /API/" + route, deadline, cancel);
}

void Client::throw_http_error(const std::string& request_label, const http::Response& response,
                              const json& parsed) const {
    const std::string error_id = string_field(parsed, "error_id");
    const std::string status = "HTTP " + std::to_string(response.status);
    const std::string where = request_label + " on the worker at " + host_;

    if (response.status == 401 && error_id == "worker_unauthorized") {
        throw WorkerError(WorkerState::lease_ended,
                          "The worker's lease ended: its gateway rejected the lease token for " + where + " (" +
                              status + ", error_id worker_unauthorized). Lease a worker again.");
    }
    if (response.status == 401 && !parsed.is_object()) {
        throw Error(Status::auth,
                    "The worker's SwarmUI requires an Authorization header that swarmpod does not have (" + status +
                        " " + quote(response.body, 80) + " for " + where +
                        "). Clear the Network.RequiredAuthorization setting of that SwarmUI, or use a v2 worker, "
                        "whose gateway takes the lease token.");
    }
    if (response.status == 503 && error_id == "worker_starting") {
        const Millis retry_after = parse_retry_after(response);
        throw WorkerError(WorkerState::starting,
                          "The worker's SwarmUI is still starting (" + status + ", error_id worker_starting, for " +
                              where + "); retry after " + std::to_string(retry_after.count() / 1000) + " s.",
                          retry_after);
    }
    if (response.status == 502 && error_id == "worker_upstream_down") {
        throw WorkerError(WorkerState::upstream_down,
                          "The worker's gateway cannot reach its SwarmUI (" + status +
                              ", error_id worker_upstream_down, for " + where + "); retry shortly.",
                          parse_retry_after(response));
    }
    if (!parsed.is_object()) {
        throw Error(Status::bad_response, "The worker returned " + status + " with a body that is not JSON for " +
                                              where + ": " + quote(response.body, 200));
    }
    throw WorkerError(WorkerState::reported_error,
                      "The worker's SwarmUI rejected " + request_label + " with " + status +
                          describe_worker_error(parsed) +
                          " (worker at " + host_ + ").");
}

Client::Reply Client::interpret(const std::string& route, const http::Response& response) const {
    if (json_depth_exceeds(response.body)) {
        throw Error(Status::bad_response, "The worker's SwarmUI returned JSON nested deeper than " +
                                              std::to_string(kMaxJsonDepth) + " levels for POST /API/" + route +
                                              " (HTTP " + std::to_string(response.status) + " from " + host_ + ").");
    }
    json parsed = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) parsed = nullptr;
    const std::string error_id = string_field(parsed, "error_id");

    // invalid_session_id means "renew the session" with any HTTP status, including a
    // 200 body. SwarmUI's own remote backend (SwarmSwarmBackend) treats it the same way.
    if (error_id == "invalid_session_id") return Reply{json(), true};

    const std::string request_label = "POST /API/" + route;
    if (response.status != 200) throw_http_error(request_label, response, parsed);
    if (!parsed.is_object()) {
        throw Error(Status::bad_response, "The worker's SwarmUI returned a reply to " + request_label +
                                              " that is not a JSON " +
                                              "object (HTTP 200 from " + host_ + "): " + quote(response.body, 200));
    }
    if (parsed.contains("error")) {
        throw WorkerError(WorkerState::reported_error, "The worker's SwarmUI reported an error on " + route +
                                                           describe_worker_error(parsed) + " (worker at " + host_ +
                                                           ").");
    }
    return Reply{std::move(parsed), false};
}

std::string Client::new_session(Deadline deadline, const CancelToken* cancel) {
    const http::Response response = post("GetNewSession", "{}", deadline, cancel);
    Reply reply = interpret("GetNewSession", response);
    if (reply.invalid_session) {
        throw Error(Status::bad_response, "The worker's SwarmUI returned invalid_session_id for GetNewSession "
                                          "(worker at " + host_ + "), which that route never needs.");
    }
    const auto it = reply.body.find("session_id");
    if (it == reply.body.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
        const std::string got = it == reply.body.end() ? std::string("no session_id") : "session_id " + it->dump();
        throw Error(Status::bad_response, "The worker's SwarmUI returned no session id from GetNewSession (" +
                                              quote(got, 80) + ", worker at " + host_ + ").");
    }
    std::string session = it->get<std::string>();
    {
        std::lock_guard<std::mutex> lock(mutex_);
        session_id_ = session;
    }
    // The session id is a bearer credential for this SwarmUI, so it is never logged.
    SP_DEBUG("Opened a SwarmUI session on the worker at {}", host_);
    return session;
}

std::string Client::renew_session(const std::string& stale, Deadline deadline, const CancelToken* cancel) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        // Another thread may have renewed it while our call was in flight.
        if (!session_id_.empty() && session_id_ != stale) return session_id_;
    }
    return new_session(deadline, cancel);
}

json Client::call(const std::string& route, json body, Deadline deadline, const CancelToken* cancel) {
    if (!body.is_object()) {
        throw Error(Status::invalid_argument,
                    "The body of " + route + " must be a JSON object, got " + std::string(body.type_name()) + ".");
    }
    std::string session = session_id();
    if (session.empty()) session = new_session(deadline, cancel);

    for (int attempt = 1;; ++attempt) {
        body["session_id"] = session;
        std::string text;
        try {
            text = body.dump();
        } catch (const json::type_error& error) {
            throw Error(Status::invalid_argument,
                        "The body of " + route + " cannot be sent as JSON: " + std::string(error.what()));
        }
        const http::Response response = post(route, std::move(text), deadline, cancel);
        Reply reply = interpret(route, response);
        if (!reply.invalid_session) return std::move(reply.body);

        if (attempt >= 2) {
            throw WorkerError(WorkerState::reported_error,
                              "The worker's SwarmUI rejected a freshly created session on " + route +
                                  " (error_id invalid_session_id, worker at " + host_ +
                                  "). Check that its sessions are not being cleared, then retry.");
        }
        SP_INFO("The SwarmUI session on the worker at {} is no longer valid ({} returned invalid_session_id); "
                "opening a new one",
                host_, route);
        session = renew_session(session, deadline, cancel);
    }
}

std::vector<std::string> Client::generate_http(json request, Deadline deadline, const CancelToken* cancel) {
    json reply = call("GenerateText2Image", std::move(request), deadline, cancel);
    const auto it = reply.find("images");
    if (it == reply.end() || !it->is_array() || it->empty()) {
        const std::string got = it == reply.end() ? std::string("no 'images' key") : "'images' " + it->dump();
        throw WorkerError(WorkerState::reported_error, "The worker returned no images for GenerateText2Image (" +
                                                           quote(got, 120) + " and no error, worker at " + host_ +
                                                           ").");
    }
    std::vector<std::string> images;
    images.reserve(it->size());
    for (std::size_t index = 0; index < it->size(); ++index) {
        json& item = (*it)[index];
        if (!item.is_string()) {
            throw Error(Status::bad_response, "The worker's GenerateText2Image reply has a " +
                                                  std::string(item.type_name()) + " at images[" +
                                                  std::to_string(index) + "], expected a string (worker at " + host_ +
                                                  ").");
        }
        images.push_back(std::move(item.get_ref<std::string&>()));
    }
    SP_DEBUG("GenerateText2Image on the worker at {} returned {} image(s)", host_, images.size());
    return images;
}

json Client::list_backends(Deadline deadline, const CancelToken* cancel) {
    json reply = call("ListBackends", json{{"nonreal", false}, {"full_data", true}}, deadline, cancel);
    return reply;
}

json Client::list_models(const std::string& subtype, Deadline deadline, const CancelToken* cancel) {
    // SwarmUI clamps depth to its own maximum, so 999 means "the whole tree".
    json body = {{"path", ""},        {"depth", 999},        {"subtype", subtype},
                 {"allowRemote", false}, {"sortBy", "Name"}, {"dataImages", false}};
    json reply = call("ListModels", std::move(body), deadline, cancel);
    const auto files = reply.find("files");
    if (files == reply.end() || !files->is_array()) {
        throw Error(Status::bad_response, "The worker's ListModels reply for subtype " + quote(subtype, 60) +
                                              " has no 'files' array (worker at " + host_ + ").");
    }
    return reply;
}

void Client::interrupt(Deadline deadline, const CancelToken* cancel, bool other_sessions) {
    if (!other_sessions && session_id().empty()) {
        SP_DEBUG("No SwarmUI session on the worker at {}, so there is nothing to interrupt", host_);
        return;
    }
    call("InterruptAll", json{{"other_sessions", other_sessions}}, deadline, cancel);
}

std::vector<uint8_t> Client::fetch_view(const std::string& path, Deadline deadline, const CancelToken* cancel) {
    check_view_path(path);
    http::Request request;
    request.method = "GET";
    request.url = address_.base_url + "/" + encode_path(path);
    request.headers = common_headers("*/*");
    const std::string request_label = "GET " + quote(path, 200);
    const http::Response response = send(std::move(request), request_label, deadline, cancel);
    if (response.status != 200) {
        json parsed = json_depth_exceeds(response.body) ? json(nullptr)
                                                         : json::parse(response.body, nullptr, /*allow_exceptions=*/false);
        if (parsed.is_discarded()) parsed = nullptr;
        throw_http_error(request_label, response, parsed);
    }
    return std::vector<uint8_t>(response.body.begin(), response.body.end());
}

json shape_request(json request, int images) {
    if (!request.is_object()) {
        throw Error(Status::invalid_argument, "The generation request must be a JSON object, got " +
                                                  std::string(request.type_name()) + ".");
    }
    if (images < 1) {
        throw Error(Status::invalid_argument,
                    "The number of images must be at least 1, got " + std::to_string(images) + ".");
    }
    request["images"] = images;
    request["donotsave"] = true;
    // Both name backends of the local SwarmUI, which mean nothing on the worker.
    request.erase("exactbackendid");
    request.erase("internalbackendtype");
    return request;
}

}  // namespace swarmpod::swarm
