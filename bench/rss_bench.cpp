// Peak memory of one generation: starts swarmpod-emulator, runs one generation through
// Backend::generate and prints how far the process's peak RSS (VmHWM) rose above its
// RSS before the generation, next to the payload. Run one process per case, because
// VmHWM never goes down.
//
//   swarmpod_rss_bench [images] [size] [png|jpeg|webp] [ws|http] [noise]
//
// With "noise" the emulator sends images that do not compress (a size x size PNG is then
// about 3 bytes per pixel), so the payload is as large as the image itself.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend/backend.hpp"
#include "backend/config.hpp"
#include "integration/emulator_process.hpp"

namespace {

using nlohmann::json;

// Returns a "VmRSS:" or "VmHWM:" value of /proc/self/status in bytes.
long long status_bytes(const std::string& field) {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind(field, 0) == 0) return std::stoll(line.substr(field.size())) * 1024;
    }
    return -1;
}

}  // namespace

int main(int argc, char** argv) {
    const int images = argc > 1 ? std::stoi(argv[1]) : 4;
    const int size = argc > 2 ? std::stoi(argv[2]) : 4096;
    const std::string format = argc > 3 ? argv[3] : "png";
    const bool websocket = argc > 4 ? std::string(argv[4]) != "http" : true;
    const bool noise = argc > 5 && std::string(argv[5]) == "noise";

    std::vector<std::string> emulator_args = {"--cold-start-ms", "200",     "--generation-ms", "0",
                                              "--steps-per-image", "1",     "--image-format",  format};
    if (noise) emulator_args.push_back("--image-noise");
    swarmpod::testing::EmulatorProcess emulator(emulator_args);
    const std::string extra = std::string("\"KeepWarmSec\": 0, \"GenerationTimeoutSec\": 600, \"UseWebSocket\": ") +
                              (websocket ? "true" : "false");
    swarmpod::backend::Backend backend(
        swarmpod::backend::parse_config(swarmpod::testing::emulator_config(emulator, extra)));

    std::size_t payload = 0;
    std::size_t largest = 0;
    swarmpod::backend::Callbacks callbacks;
    callbacks.on_image = [&](const swarmpod::backend::GeneratedImage& image) {
        payload += image.bytes.size();
        largest = std::max(largest, image.bytes.size());
        return true;
    };
    const json request = {{"prompt", "memory"}, {"images", images}, {"width", size}, {"height", size}, {"seed", 3}};
    swarmpod::CancelToken cancel;
    json summary;
    const long long before = status_bytes("VmRSS:");
    backend.generate(request.dump(), "test-key", cancel, callbacks, summary);
    const long long peak = status_bytes("VmHWM:");

    const double rise = static_cast<double>(peak - before);
    std::printf("case: %d x %dx%d %s over %s\n", images, size, size, format.c_str(), websocket ? "WebSocket" : "HTTP");
    std::printf("payload: %.1f MiB in %d image(s), largest image %.1f MiB (%.1f MiB as base64)\n",
                static_cast<double>(payload) / 1048576.0, images, static_cast<double>(largest) / 1048576.0,
                static_cast<double>(largest) * 4.0 / 3.0 / 1048576.0);
    std::printf("rss before: %.1f MiB, peak: %.1f MiB, rise: %.1f MiB\n", static_cast<double>(before) / 1048576.0,
                static_cast<double>(peak) / 1048576.0, rise / 1048576.0);
    std::printf("rise / whole payload: %.2f, rise / largest image: %.2f\n", rise / static_cast<double>(payload),
                rise / static_cast<double>(largest));
    return 0;
}
