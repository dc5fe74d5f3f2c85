#include "integration/abi_session.hpp"

#include <stdexcept>

namespace swarmpod::testing {

int32_t Collector::on_progress(void* user_data, const swarmpod_progress* event) {
    auto* self = static_cast<Collector*>(user_data);
    self->progress.push_back(ReceivedProgress{event->phase, event->message ? event->message : "",
                                              event->json ? event->json : ""});
    if (self->cancel_after_progress_events >= 0 &&
        static_cast<int>(self->progress.size()) > self->cancel_after_progress_events) {
        return 1;
    }
    return 0;
}

int32_t Collector::on_image(void* user_data, const swarmpod_image* image) {
    auto* self = static_cast<Collector*>(user_data);
    ReceivedImage copy;
    copy.batch_index = image->batch_index;
    copy.bytes.assign(image->data, image->data + image->size);
    copy.mime = image->mime ? image->mime : "";
    copy.width = image->width;
    copy.height = image->height;
    copy.gpu_seconds = image->gpu_seconds;
    self->images.push_back(std::move(copy));
    return 0;
}

Backend::Backend(const std::string& config_json) {
    const int32_t status = swarmpod_backend_new(config_json.c_str(), &handle_);
    if (status != SWARMPOD_OK) {
        throw std::runtime_error(std::string("swarmpod_backend_new failed: ") + swarmpod_last_error_message());
    }
}

GenerateOutcome generate(swarmpod_backend* backend, const std::string& request, const char* api_key,
                         Collector& collector, swarmpod_generation* generation) {
    swarmpod_callbacks callbacks = collector.callbacks();
    char* result = nullptr;
    GenerateOutcome outcome;
    outcome.status = swarmpod_generate(backend, request.c_str(), api_key, generation, &callbacks, &result);
    outcome.message = swarmpod_last_error_message();
    if (result != nullptr) {
        outcome.summary = nlohmann::json::parse(result);
        swarmpod_string_free(result);
    }
    return outcome;
}

std::pair<int, int> png_size(const std::vector<uint8_t>& bytes) {
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (bytes.size() < 24 || !std::equal(signature, signature + 8, bytes.begin())) return {0, 0};
    auto read32 = [&](std::size_t at) {
        return static_cast<int>((uint32_t(bytes[at]) << 24) | (uint32_t(bytes[at + 1]) << 16) |
                                (uint32_t(bytes[at + 2]) << 8) | uint32_t(bytes[at + 3]));
    };
    return {read32(16), read32(20)};
}

}  // namespace swarmpod::testing
