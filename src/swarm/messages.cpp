#include "swarm/messages.hpp"

#include <cmath>
#include <limits>
#include <optional>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/json_limits.hpp"

namespace swarmpod::swarm {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxQuotedChars = 80;
// An image value at least this long is taken out of the frame before parsing (see below).
constexpr std::size_t kLargeImageValue = 64 * 1024;

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The position and length of the top-level "image" string value in `text` when it is a
// large value without escapes (a data URL or a path), else nothing. nlohmann's lexer keeps
// two growing copies of every string it reads, so a 64 MiB data URL would cost several times
// its size. This value is instead cut out of the frame, and the rest is parsed as usual.
// The caller checks that the rest parses with "image" as an empty top-level string.
std::optional<std::pair<std::size_t, std::size_t>> large_image_value(const std::string& text) {
    const std::size_t key = text.find("\"image\"");
    if (key == std::string::npos) return std::nullopt;
    std::size_t before = key;
    while (before > 0 && is_json_space(text[before - 1])) --before;
    if (before == 0 || (text[before - 1] != '{' && text[before - 1] != ',')) return std::nullopt;
    std::size_t at = key + 7;
    while (at < text.size() && is_json_space(text[at])) ++at;
    if (at >= text.size() || text[at] != ':') return std::nullopt;
    ++at;
    while (at < text.size() && is_json_space(text[at])) ++at;
    if (at >= text.size() || text[at] != '"') return std::nullopt;
    const std::size_t start = at + 1;
    const std::size_t end = text.find('"', start);
    if (end == std::string::npos || end - start < kLargeImageValue) return std::nullopt;
    if (text.find('\\', start) < end) return std::nullopt;
    return std::make_pair(start, end - start);
}

// Parses `text`, taking a large image value out of it first when there is one. On return
// `text` is either untouched or holds only that value.
json parse_frame(std::string& text, std::string& image_value) {
    if (const auto value = large_image_value(text)) {
        const auto [start, length] = *value;
        std::string rest;
        rest.reserve(text.size() - length);
        rest.append(text, 0, start).append(text, start + length, std::string::npos);
        json root = json::parse(rest, nullptr, /*allow_exceptions=*/false);
        const auto image = root.is_object() ? root.find("image") : root.end();
        if (image != root.end() && image->is_string() && image->get_ref<const std::string&>().empty()) {
            // The value moves to the front of the frame's own buffer: no copy of it is made.
            text.erase(start + length);
            text.erase(0, start);
            image_value = std::move(text);
            return root;
        }
    }
    return json::parse(text, nullptr, /*allow_exceptions=*/false);
}

std::string quoted(const json& value) {
    std::string text = value.dump();
    if (text.size() > kMaxQuotedChars) text = text.substr(0, kMaxQuotedChars) + "...";
    return text;
}

// SwarmUI sends batch_index as a string ("0") and, from some backends, as a number.
int parse_batch_index(const json& value, const char* message_kind) {
    auto reject = [&]() -> int {
        throw Error(Status::bad_response, std::string("The worker sent a ") + message_kind +
                                              " message with batch_index " + quoted(value) +
                                              ", expected a whole number or a string holding one.");
    };
    if (value.is_number_integer()) {
        const auto number = value.get<long long>();
        if (number < -1 || number > std::numeric_limits<int>::max()) reject();
        return static_cast<int>(number);
    }
    if (value.is_number_float()) {
        const double number = value.get<double>();
        if (number != std::floor(number) || number < -1 || number > std::numeric_limits<int>::max()) reject();
        return static_cast<int>(number);
    }
    if (!value.is_string()) reject();
    const std::string& text = value.get_ref<const std::string&>();
    const bool negative_one = text == "-1";
    if (!negative_one && (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos)) {
        reject();
    }
    return std::stoi(text);
}

double number_or(const json& object, const char* key, double fallback) {
    const auto it = object.find(key);
    if (it == object.end() || !it->is_number()) return fallback;
    return it->get<double>();
}

int int_or(const json& object, const char* key) {
    const auto it = object.find(key);
    if (it == object.end() || !it->is_number_integer()) return 0;
    const auto value = it->get<long long>();
    if (value < 0 || value > std::numeric_limits<int>::max()) return 0;
    return static_cast<int>(value);
}

// Moves a string member out of `object`; a JSON string metadata object is kept as its dump.
std::string take_string(json& object, const char* key) {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return "";
    if (it->is_string()) return std::move(it->get_ref<std::string&>());
    return it->dump();
}

void parse_progress(json& progress, WsMessage& message) {
    message.kind = MessageKind::progress;
    if (!progress.is_object()) {
        throw Error(Status::bad_response, "The worker sent a gen_progress message whose value is " +
                                              std::string(progress.type_name()) + ", expected an object.");
    }
    const auto index = progress.find("batch_index");
    if (index != progress.end()) message.batch_index = parse_batch_index(*index, "gen_progress");
    message.overall_percent = number_or(progress, "overall_percent", -1);
    message.current_percent = number_or(progress, "current_percent", -1);
    message.preview = take_string(progress, "preview");
}

void parse_image(json& root, WsMessage& message) {
    message.kind = MessageKind::image;
    json& image = root["image"];
    if (!image.is_string()) {
        throw Error(Status::bad_response, "The worker sent an image message whose 'image' is " +
                                              std::string(image.type_name()) +
                                              ", expected a data URL or a saved path as a string.");
    }
    const auto index = root.find("batch_index");
    message.batch_index = index == root.end() ? -1 : parse_batch_index(*index, "image");
    message.image = std::move(image.get_ref<std::string&>());
    message.metadata = take_string(root, "metadata");
}

void parse_status(const json& root, WsMessage& message) {
    message.kind = MessageKind::status;
    const json& status = root["status"];
    if (status.is_object()) {
        message.loading_models = int_or(status, "loading_models");
        message.waiting_gens = int_or(status, "waiting_gens");
        message.live_gens = int_or(status, "live_gens");
    }
    const auto backend = root.find("backend_status");
    if (backend != root.end() && backend->is_object()) {
        const auto text = backend->find("status");
        if (text != backend->end() && text->is_string()) message.backend_status = text->get<std::string>();
    }
}

void parse_discard(const json& list, WsMessage& message) {
    message.kind = MessageKind::discard_indices;
    if (!list.is_array()) {
        throw Error(Status::bad_response, "The worker sent discard_indices " + quoted(list) + ", expected an array.");
    }
    for (const json& item : list) message.discarded.push_back(parse_batch_index(item, "discard_indices"));
}

}  // namespace

const char* message_kind_name(MessageKind kind) noexcept {
    switch (kind) {
        case MessageKind::status: return "status";
        case MessageKind::progress: return "gen_progress";
        case MessageKind::image: return "image";
        case MessageKind::discard_indices: return "discard_indices";
        case MessageKind::keep_alive: return "keep_alive";
        case MessageKind::error: return "error";
        case MessageKind::socket_intention: return "socket_intention";
        case MessageKind::other: return "other";
    }
    return "other";
}

WsMessage parse_message(std::string text) {
    // An error or discard_indices value is printed into messages, and printing recurses
    // once per nesting level.
    if (json_depth_exceeds(text)) {
        throw Error(Status::bad_response, "The worker sent a WebSocket message of " + std::to_string(text.size()) +
                                              " bytes with JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                                              " levels.");
    }
    const std::size_t size = text.size();
    std::string image_value;
    json root = parse_frame(text, image_value);
    if (!image_value.empty()) root["image"] = std::move(image_value);
    // The parsed JSON has its own copy of every other string, so the frame can go now.
    std::string().swap(text);
    if (root.is_discarded() || !root.is_object()) {
        throw Error(Status::bad_response, "The worker sent a WebSocket message of " + std::to_string(size) +
                                              " bytes that is not a JSON object.");
    }

    WsMessage message;
    // An error can come with other keys, and it wins over them.
    if (root.contains("error")) {
        message.kind = MessageKind::error;
        message.error = take_string(root, "error");
        message.error_id = take_string(root, "error_id");
    } else if (root.contains("gen_progress")) {
        parse_progress(root["gen_progress"], message);
    } else if (root.contains("image")) {
        parse_image(root, message);
    } else if (root.contains("discard_indices")) {
        parse_discard(root["discard_indices"], message);
    } else if (root.contains("keep_alive")) {
        message.kind = MessageKind::keep_alive;
    } else if (root.contains("socket_intention")) {
        message.kind = MessageKind::socket_intention;
        message.intention = take_string(root, "socket_intention");
    } else if (root.contains("status")) {
        parse_status(root, message);
    } else {
        message.kind = MessageKind::other;
        if (!root.empty()) message.first_key = root.begin().key();
    }
    return message;
}

}  // namespace swarmpod::swarm
