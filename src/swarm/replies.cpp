#include "swarm/replies.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <utility>

#include "core/json_limits.hpp"
#include "log/log.hpp"

namespace swarmpod::swarm {

using nlohmann::json;

namespace {

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
    if (!text.empty()) out += ": " + quote_worker_text(text, 1000);
    if (!error_id.empty()) out += " (error_id " + quote_worker_text(error_id, 80) + ")";
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

const WorkerError* as_worker_error(const Error& error) noexcept { return dynamic_cast<const WorkerError*>(&error); }

}  // namespace

std::string quote_worker_text(std::string_view text, std::size_t max_chars) {
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

bool is_worker_transient(const Error& error) noexcept {
    const WorkerError* worker = as_worker_error(error);
    return worker != nullptr &&
           (worker->state() == WorkerState::starting || worker->state() == WorkerState::upstream_down);
}

bool is_lease_ended(const Error& error) noexcept {
    const WorkerError* worker = as_worker_error(error);
    return worker != nullptr && worker->state() == WorkerState::lease_ended;
}

void throw_reply_error(const std::string& request_label, const http::Response& response, const json& parsed,
                       const std::string& host) {
    const std::string error_id = string_field(parsed, "error_id");
    const std::string status = "HTTP " + std::to_string(response.status);
    const std::string where = request_label + " on the worker at " + host;

    if (response.status == 401 && error_id == "worker_unauthorized") {
        throw WorkerError(WorkerState::lease_ended,
                          "The worker's lease ended: its gateway rejected the lease token for " + where + " (" +
                              status + ", error_id worker_unauthorized). Lease a worker again.");
    }
    if (response.status == 401 && !parsed.is_object()) {
        throw Error(Status::auth,
                    "The worker's SwarmUI requires an Authorization header that swarmpod does not have (" + status +
                        " " + quote_worker_text(response.body, 80) + " for " + where +
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
                                              where + ": " + quote_worker_text(response.body, 200));
    }
    throw WorkerError(WorkerState::reported_error,
                      "The worker's SwarmUI rejected " + request_label + " with " + status +
                          describe_worker_error(parsed) +
                          " (worker at " + host + ").");
}

ApiReply interpret_reply(const std::string& route, const http::Response& response, const std::string& host,
                         std::vector<TextSpan>* cut_spans) {
    if (json_depth_exceeds(response.body)) {
        throw Error(Status::bad_response, "The worker's SwarmUI returned JSON nested deeper than " +
                                              std::to_string(kMaxJsonDepth) + " levels for POST /API/" + route +
                                              " (HTTP " + std::to_string(response.status) + " from " + host + ").");
    }
    std::optional<CutJson> cut;
    if (cut_spans != nullptr) {
        cut_spans->clear();
        cut = cut_large_strings(response.body);
    }
    json parsed = json::parse(cut ? std::string_view(cut->rest) : std::string_view(response.body), nullptr,
                              /*allow_exceptions=*/false);
    if (cut) *cut_spans = std::move(cut->spans);
    if (parsed.is_discarded()) parsed = nullptr;
    const std::string error_id = string_field(parsed, "error_id");

    // invalid_session_id means "renew the session" with any HTTP status, including a
    // 200 body. SwarmUI's own remote backend (SwarmSwarmBackend) treats it the same way.
    if (error_id == "invalid_session_id") return ApiReply{json(), true};

    const std::string request_label = "POST /API/" + route;
    if (response.status != 200) throw_reply_error(request_label, response, parsed, host);
    if (!parsed.is_object()) {
        throw Error(Status::bad_response, "The worker's SwarmUI returned a reply to " + request_label +
                                              " that is not a JSON " +
                                              "object (HTTP 200 from " + host + "): " + quote_worker_text(response.body, 200));
    }
    if (parsed.contains("error")) {
        throw WorkerError(WorkerState::reported_error, "The worker's SwarmUI reported an error on " + route +
                                                           describe_worker_error(parsed) + " (worker at " + host +
                                                           ").");
    }
    return ApiReply{std::move(parsed), false};
}

std::string session_id_from_reply(const json& reply, const std::string& host) {
    const auto it = reply.find("session_id");
    if (it == reply.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
        const std::string got = it == reply.end() ? std::string("no session_id") : "session_id " + it->dump();
        throw Error(Status::bad_response, "The worker's SwarmUI returned no session id from GetNewSession (" +
                                              quote_worker_text(got, 80) + ", worker at " + host + ").");
    }
    return it->get<std::string>();
}

std::string_view ReplyImages::view(std::size_t index) const {
    const Entry& entry = entries.at(index);
    if (entry.span) return std::string_view(text).substr(entry.span->offset, entry.span->length);
    return entry.value;
}

ReplyImages images_from_reply(json reply, std::string text, const std::vector<TextSpan>& spans,
                              const std::string& host) {
    const auto it = reply.find("images");
    if (it == reply.end() || !it->is_array() || it->empty()) {
        const std::string got = it == reply.end() ? std::string("no 'images' key") : "'images' " + it->dump();
        throw WorkerError(WorkerState::reported_error, "The worker returned no images for GenerateText2Image (" +
                                                           quote_worker_text(got, 120) + " and no error, worker at " +
                                                           host + ").");
    }
    ReplyImages images;
    images.entries.reserve(it->size());
    for (std::size_t index = 0; index < it->size(); ++index) {
        json& item = (*it)[index];
        if (!item.is_string()) {
            throw Error(Status::bad_response, "The worker's GenerateText2Image reply has a " +
                                                  std::string(item.type_name()) + " at images[" +
                                                  std::to_string(index) + "], expected a string (worker at " + host +
                                                  ").");
        }
        ReplyImages::Entry entry;
        std::string& value = item.get_ref<std::string&>();
        if (const auto cut = cut_index(value)) {
            if (*cut >= spans.size()) {
                throw Error(Status::bad_response, "The worker's GenerateText2Image reply has an unreadable string at images[" +
                                                      std::to_string(index) + "] (worker at " + host + ").");
            }
            entry.span = spans[*cut];
        } else {
            entry.value = std::move(value);
        }
        images.entries.push_back(std::move(entry));
    }
    images.text = std::move(text);
    return images;
}

std::vector<std::string> images_from_reply(json reply, const std::string& host) {
    ReplyImages parsed = images_from_reply(std::move(reply), std::string(), {}, host);
    std::vector<std::string> images;
    images.reserve(parsed.size());
    for (ReplyImages::Entry& entry : parsed.entries) images.push_back(std::move(entry.value));
    return images;
}

void check_model_list(const json& reply, const std::string& subtype, const std::string& host) {
    const auto files = reply.find("files");
    if (files == reply.end() || !files->is_array()) {
        throw Error(Status::bad_response, "The worker's ListModels reply for subtype " + quote_worker_text(subtype, 60) +
                                              " has no 'files' array (worker at " + host + ").");
    }
}

}  // namespace swarmpod::swarm
