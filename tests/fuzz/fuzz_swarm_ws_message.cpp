// swarm::parse_message on any text frame a worker's GenerateText2ImageWS socket can send.
// Error(bad_response) is the documented rejection, and any other exception or a crash is a bug.
#include <cstdlib>
#include <string>

#include "core/error.hpp"
#include "swarm/messages.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const swarmpod::swarm::WsMessage message = swarmpod::swarm::parse_message(std::move(text));
        (void)swarmpod::swarm::message_kind_name(message.kind);
        if (message.batch_index < -1) std::abort();
        for (const int index : message.discarded) {
            if (index < -1) std::abort();
        }
    } catch (const swarmpod::Error& error) {
        if (error.status() != swarmpod::Status::bad_response) std::abort();
    }
    return 0;
}
