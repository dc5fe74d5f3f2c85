// The SwarmUI feature flags of an endpoint's workers: taken from a ListBackends reply and
// stored with the model lists.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend/model_cache.hpp"

namespace {

using nlohmann::json;
using swarmpod::backend::ModelCache;
using swarmpod::backend::running_backend_features;
namespace fs = std::filesystem;

struct TempDir {
    fs::path path = fs::temp_directory_path() / ("swarmpod-features-" + std::to_string(::getpid()) + "-" +
                                                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
    TempDir() { fs::create_directories(path); }
    ~TempDir() { fs::remove_all(path); }
    std::string str() const { return path.string(); }
};

json backend(const std::string& status, const json& features) {
    return json{{"type", "comfyui_selfstart"}, {"status", status}, {"features", features}};
}

TEST(RunningBackendFeatures, UnionOfRunningBackendsSorted) {
    const json reply = {{"0", backend("running", {"comfyui", "refiners"})},
                        {"1", backend("running", {"video", "comfyui"})},
                        {"2", backend("errored", {"teacache"})}};

    const auto flags = running_backend_features(reply);

    ASSERT_TRUE(flags.has_value());
    EXPECT_EQ(*flags, (std::vector<std::string>{"comfyui", "refiners", "video"}));
}

TEST(RunningBackendFeatures, NoneRunningGivesNoValue) {
    const json reply = {{"0", backend("loading", {"comfyui"})}, {"1", backend("idle", {"video"})}};

    EXPECT_FALSE(running_backend_features(reply).has_value());
    EXPECT_FALSE(running_backend_features(json::object()).has_value());
    EXPECT_FALSE(running_backend_features(json::array()).has_value());
}

TEST(RunningBackendFeatures, RunningWithoutFlagsGivesEmptyList) {
    const json reply = {{"0", json{{"status", "running"}}}};

    const auto flags = running_backend_features(reply);

    ASSERT_TRUE(flags.has_value());
    EXPECT_TRUE(flags->empty());
}

TEST(RunningBackendFeatures, SkipsValuesThatAreNotFlags) {
    const json reply = {{"0", backend("running", {"comfyui", 7, nullptr, "", std::string(101, 'x'), json::object()})},
                        {"1", "not an object"}};

    const auto flags = running_backend_features(reply);

    ASSERT_TRUE(flags.has_value());
    EXPECT_EQ(*flags, (std::vector<std::string>{"comfyui"}));
}

TEST(ModelCacheFeatures, NullBeforeAnyStore) {
    ModelCache cache("", "e");

    const json features = cache.features();

    EXPECT_TRUE(features["features"].is_null());
    EXPECT_TRUE(features["updated_at"].is_null());
}

TEST(ModelCacheFeatures, StoredFlagsPersistBesideModels) {
    TempDir dir;
    {
        ModelCache cache(dir.str(), "endpoint-a");
        cache.store("Stable-Diffusion", json::array({json{{"name", "a.safetensors"}}}));
        cache.store_features({"video", "comfyui", "video"});
    }

    ModelCache reloaded(dir.str(), "endpoint-a");
    const json features = reloaded.features();

    EXPECT_EQ(features["features"], json::array({"comfyui", "video"}));
    EXPECT_GT(features["updated_at"].get<double>(), 0.0);
    EXPECT_EQ(reloaded.list("Stable-Diffusion")["models"].size(), 1u);
    EXPECT_TRUE(ModelCache(dir.str(), "endpoint-b").features()["features"].is_null());
}

TEST(ModelCacheFeatures, EmptyListIsKnownNotNull) {
    TempDir dir;
    ModelCache(dir.str(), "e").store_features({});

    const json features = ModelCache(dir.str(), "e").features();

    EXPECT_EQ(features["features"], json::array());
}

TEST(ModelCacheFeatures, FileWithoutFeaturesLoadsModels) {
    TempDir dir;
    std::ofstream(dir.path / "models_e.json")
        << R"({"endpoint_id": "e", "subtypes": {"LoRA": {"updated_at": 5, "models": [{"name": "l.safetensors"}]}}})";

    ModelCache cache(dir.str(), "e");

    EXPECT_TRUE(cache.features()["features"].is_null());
    EXPECT_EQ(cache.list("LoRA")["models"].size(), 1u);
}

}  // namespace
