// HTTP client for the SwarmUI API on a worker. The replies are read in swarm/replies.cpp.
#include "swarm/client.hpp"

#include <algorithm>
#include <string_view>
#include <utility>

#include "core/json_limits.hpp"
#include "log/log.hpp"

namespace swarmpod::swarm {

using nlohmann::json;

namespace {

constexpr Millis kMaxConnectTimeout{10000};

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
                                              std::string(why) + "): " + quote_worker_text(path, 200) +
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

}  // namespace

Client::Client(http::Client& http, WorkerAddress address) : http_(http), address_(std::move(address)) {
    while (!address_.base_url.empty() && address_.base_url.back() == '/') address_.base_url.pop_back();
    const std::string& url = address_.base_url;
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
        throw Error(Status::invalid_argument, "The worker's SwarmUI URL must start with http:// or https://, got " +
                                                  quote_worker_text(url, 100) + ".");
    }
    host_ = host_of(url);
}

std::string Client::session_id() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return session_id_;
}

void Client::use_session(std::string session_id) {
    std::lock_guard<std::mutex> lock(mutex_);
    session_id_ = std::move(session_id);
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

std::string Client::new_session(Deadline deadline, const CancelToken* cancel) {
    const http::Response response = post("GetNewSession", "{}", deadline, cancel);
    ApiReply reply = interpret_reply("GetNewSession", response, host_);
    if (reply.invalid_session) {
        throw Error(Status::bad_response, "The worker's SwarmUI returned invalid_session_id for GetNewSession "
                                          "(worker at " + host_ + "), which that route never needs.");
    }
    std::string session = session_id_from_reply(reply.body, host_);
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
    return call_with(route, std::move(body), deadline, cancel, /*cut_large=*/false).body;
}

Client::CallResult Client::call_with(const std::string& route, json body, Deadline deadline, const CancelToken* cancel,
                                     bool cut_large) {
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
        http::Response response = post(route, std::move(text), deadline, cancel);
        std::vector<TextSpan> spans;
        ApiReply reply = interpret_reply(route, response, host_, cut_large ? &spans : nullptr);
        if (!reply.invalid_session) {
            // The text is kept only when the reply points into it.
            std::string reply_text = spans.empty() ? std::string() : std::move(response.body);
            return CallResult{std::move(reply.body), std::move(reply_text), std::move(spans)};
        }

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

ReplyImages Client::generate_http(json request, Deadline deadline, const CancelToken* cancel) {
    CallResult reply = call_with("GenerateText2Image", std::move(request), deadline, cancel, /*cut_large=*/true);
    ReplyImages images = images_from_reply(std::move(reply.body), std::move(reply.text), reply.spans, host_);
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
    check_model_list(reply, subtype, host_);
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
    const std::string request_label = "GET " + quote_worker_text(path, 200);
    const http::Response response = send(std::move(request), request_label, deadline, cancel);
    if (response.status != 200) {
        json parsed = json_depth_exceeds(response.body) ? json(nullptr)
                                                         : json::parse(response.body, nullptr, /*allow_exceptions=*/false);
        if (parsed.is_discarded()) parsed = nullptr;
        throw_reply_error(request_label, response, parsed, host_);
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
