// Small RAII helpers around the C ABI for the integration tests.
#pragma once

#include <swarmpod/swarmpod.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace swarmpod::testing {

struct ReceivedImage {
    int batch_index = 0;
    std::vector<uint8_t> bytes;
    std::string mime;
    int width = 0;
    int height = 0;
    double gpu_seconds = -1;
};

struct ReceivedProgress {
    int phase = 0;
    std::string message;
    std::string json;
};

// Collects what a generation delivers through the callbacks.
struct Collector {
    std::vector<ReceivedImage> images;
    std::vector<ReceivedProgress> progress;
    int cancel_after_progress_events = -1;  // when >= 0, the progress callback cancels after this many
    swarmpod_callbacks callbacks() {
        swarmpod_callbacks c{};
        c.struct_size = sizeof c;
        c.on_progress = &Collector::on_progress;
        c.on_image = &Collector::on_image;
        c.user_data = this;
        return c;
    }
    static int32_t on_progress(void* user_data, const swarmpod_progress* event);
    static int32_t on_image(void* user_data, const swarmpod_image* image);
};

class Backend {
public:
    explicit Backend(const std::string& config_json);
    ~Backend() { swarmpod_backend_free(handle_); }
    Backend(const Backend&) = delete;
    Backend& operator=(const Backend&) = delete;
    swarmpod_backend* get() const { return handle_; }

private:
    swarmpod_backend* handle_ = nullptr;
};

struct GenerateOutcome {
    int32_t status = 0;
    std::string message;
    nlohmann::json summary;
};

GenerateOutcome generate(swarmpod_backend* backend, const std::string& request, const char* api_key,
                         Collector& collector, swarmpod_generation* generation = nullptr);

// Reads the PNG width and height from the IHDR chunk; {0, 0} when it is not a PNG.
std::pair<int, int> png_size(const std::vector<uint8_t>& bytes);

}  // namespace swarmpod::testing
