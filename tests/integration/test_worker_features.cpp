// The worker's SwarmUI feature flags and the per-image GPU-seconds, through the C ABI
// against swarmpod-emulator.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include <nlohmann/json.hpp>

#include "integration/abi_session.hpp"
#include "integration/emulator_process.hpp"

namespace {

using nlohmann::json;
using swarmpod::testing::Backend;
using swarmpod::testing::Collector;
using swarmpod::testing::EmulatorProcess;
using swarmpod::testing::emulator_config;
using swarmpod::testing::generate;

std::string request(int images) {
    return json{{"prompt", "a lighthouse"}, {"model", "OfficialStableDiffusion/sd_xl_base_1.0"}, {"width", 64},
                {"height", 64}, {"images", images}}
        .dump();
}

json features_of(swarmpod_backend* backend) {
    char* out = nullptr;
    const int32_t status = swarmpod_backend_features(backend, &out);
    EXPECT_EQ(status, SWARMPOD_OK) << swarmpod_last_error_message();
    if (out == nullptr) return nullptr;
    json parsed = json::parse(out);
    swarmpod_string_free(out);
    return parsed;
}

TEST(WorkerFeatures, NullBeforeAnyWorker) {
    EmulatorProcess emulator;
    Backend backend(emulator_config(emulator));

    const json features = features_of(backend.get());

    EXPECT_TRUE(features["features"].is_null());
    EXPECT_TRUE(features["updated_at"].is_null());
    EXPECT_EQ(emulator.ledger()["jobs"].size(), 0u);
}

TEST(WorkerFeatures, ReadAfterGenerationAndKeptForNextBackend) {
    EmulatorProcess emulator({"--cold-start-ms", "200", "--generation-ms", "50", "--idle-timeout-ms", "1000"});
    const std::string config = emulator_config(emulator, "\"KeepWarmSec\": 0");
    {
        Backend backend(config);
        Collector collector;
        const auto outcome = generate(backend.get(), request(1), "test-key", collector);
        ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;

        const json features = features_of(backend.get());

        ASSERT_TRUE(features["features"].is_array()) << features.dump();
        const auto& flags = features["features"];
        EXPECT_NE(std::find(flags.begin(), flags.end(), "comfyui"), flags.end()) << flags.dump();
        EXPECT_NE(std::find(flags.begin(), flags.end(), "freeu"), flags.end()) << flags.dump();
        EXPECT_GT(features["updated_at"].get<double>(), 0.0);
    }
    const std::size_t jobs_after_first = emulator.ledger()["jobs"].size();

    Backend restarted(config);
    const json reloaded = features_of(restarted.get());

    ASSERT_TRUE(reloaded["features"].is_array()) << reloaded.dump();
    EXPECT_NE(std::find(reloaded["features"].begin(), reloaded["features"].end(), "freeu"), reloaded["features"].end());
    EXPECT_EQ(emulator.ledger()["jobs"].size(), jobs_after_first);
}

TEST(WorkerFeatures, ReadAtModelListRefresh) {
    EmulatorProcess emulator({"--cold-start-ms", "200", "--idle-timeout-ms", "1000"});
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 0"));
    char* out = nullptr;

    const int32_t status = swarmpod_backend_list_models(backend.get(), "Stable-Diffusion", 1, "test-key", &out);
    swarmpod_string_free(out);

    ASSERT_EQ(status, SWARMPOD_OK) << swarmpod_last_error_message();
    EXPECT_TRUE(features_of(backend.get())["features"].is_array());
}

TEST(WorkerFeatures, NullOutJsonIsInvalidArgument) {
    EmulatorProcess emulator;
    Backend backend(emulator_config(emulator));

    EXPECT_EQ(swarmpod_backend_features(backend.get(), nullptr), SWARMPOD_E_INVALID_ARGUMENT);
    EXPECT_NE(std::string(swarmpod_last_error_message()), "");
}

TEST(ImageGpuSeconds, GrowFromImageToImageUpToSummary) {
    EmulatorProcess emulator({"--cold-start-ms", "300", "--generation-ms", "400", "--idle-timeout-ms", "1000"});
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 0"));
    Collector collector;

    const auto outcome = generate(backend.get(), request(3), "test-key", collector);

    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    ASSERT_EQ(collector.images.size(), 3u);
    const double total = outcome.summary["gpu_seconds"].get<double>();
    double previous = 0;
    for (std::size_t i = 0; i < collector.images.size(); ++i) {
        const double seconds = collector.images[i].gpu_seconds;
        // The first image already carries the cold start (300 ms) and its own generation (400 ms).
        EXPECT_GT(seconds, i == 0 ? 0.5 : previous + 0.2) << "image " << i;
        EXPECT_LE(seconds, total) << "image " << i;
        EXPECT_DOUBLE_EQ(outcome.summary["images"][i]["gpu_seconds"].get<double>(), seconds) << "image " << i;
        previous = seconds;
    }
}

}  // namespace
