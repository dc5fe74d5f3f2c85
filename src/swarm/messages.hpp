// Parsing of the JSON messages SwarmUI sends on its GenerateText2ImageWS socket.
#pragma once

#include <string>
#include <vector>

namespace swarmpod::swarm {

enum class MessageKind {
    status,            // {"status": {...}, "backend_status": {...}}: claims changed, or the last message
    progress,          // {"gen_progress": {...}}
    image,             // {"image": "...", "batch_index": "...", "metadata": "..."}
    discard_indices,   // {"discard_indices": [...]}: sent once at the end of a request
    keep_alive,        // {"keep_alive": true}
    error,             // {"error": "...", "error_id": "..."}
    socket_intention,  // {"socket_intention": "close"}
    other,             // raw_swarm_data, raw_backend_data and unknown shapes
};

const char* message_kind_name(MessageKind kind) noexcept;

struct WsMessage {
    MessageKind kind = MessageKind::other;
    int batch_index = -1;          // progress and image; -1 when the message has none

    double overall_percent = -1;   // progress, 0..1; negative when missing
    double current_percent = -1;
    std::string preview;           // progress: a data URL, or empty

    std::string image;             // image: a data URL or a saved path such as "View/local/raw/..."
    std::string metadata;          // image: the worker's metadata JSON string, or empty

    int loading_models = 0;        // status: models being loaded for queued generations
    int waiting_gens = 0;
    int live_gens = 0;
    std::string backend_status;    // status: backend_status.status, e.g. "running"

    std::string error;             // error: the worker's text
    std::string error_id;          // error: the machine id, e.g. "invalid_session_id", or empty

    std::vector<int> discarded;    // discard_indices
    std::string intention;         // socket_intention, e.g. "close"
    std::string first_key;         // other: the first key, for logs
};

// Parses one text frame. `text` is taken by value and released before the large
// strings are moved out of the parsed JSON, so an image message is held at most twice
// (raw text and parsed JSON) and never three times. Throws Error(bad_response) for
// text that is not a JSON object or is nested deeper than kMaxJsonDepth, and for a
// batch_index that is neither an integer nor a string holding one, naming the value.
WsMessage parse_message(std::string text);

}  // namespace swarmpod::swarm
