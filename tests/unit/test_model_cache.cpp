// The model list cache and the cold-start statistics, on real files in a temporary directory.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <limits>
#include <fstream>
#include <thread>
#include <vector>

#include "backend/duration_stats.hpp"
#include "backend/model_cache.hpp"
#include "core/error.hpp"

namespace {

using nlohmann::json;
using swarmpod::backend::DurationStats;
using swarmpod::backend::ModelCache;
using swarmpod::backend::normalize_model;
namespace fs = std::filesystem;

class TempDir {
public:
    TempDir() {
        path_ = fs::temp_directory_path() /
                ("swarmpod-cache-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
        fs::remove_all(path_);
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    std::string str() const { return path_.string(); }

private:
    static inline int counter_ = 0;
    fs::path path_;
};

void write(const std::string& path, const std::string& text) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << text;
}

TEST(ModelCache, NormalizeFillsParserFields) {
    const json model = normalize_model(json{{"name", "folder/sdxl.safetensors"}, {"standard_width", 1024}});
    EXPECT_EQ(model["title"], "sdxl.safetensors");
    EXPECT_EQ(model["description"], "");
    EXPECT_EQ(model["architecture"], "");
    EXPECT_EQ(model["class"], "");
    EXPECT_EQ(model["standard_width"], 1024);
    EXPECT_EQ(model["standard_height"], 0);
    EXPECT_EQ(model["loaded"], false);
    EXPECT_EQ(model["local"], false);
    EXPECT_EQ(model["preview_image"], "imgs/model_placeholder.jpg");
    EXPECT_EQ(model["is_supported_model_format"], true);
}

TEST(ModelCache, NormalizeKeepsTitleAndDropsNameless) {
    EXPECT_EQ(normalize_model(json{{"name", "a.safetensors"}, {"title", "Nice"}})["title"], "Nice");
    EXPECT_TRUE(normalize_model(json{{"title", "no name"}}).is_null());
    EXPECT_TRUE(normalize_model(json("text")).is_null());
}

TEST(ModelCache, EmptyBeforeAnyStore) {
    TempDir dir;
    ModelCache cache(dir.str(), "endpoint-1");
    const json list = cache.list("Stable-Diffusion");
    EXPECT_EQ(list["source"], "cache");
    EXPECT_TRUE(list["updated_at"].is_null());
    EXPECT_TRUE(list["models"].empty());
    EXPECT_FALSE(fs::exists(cache.file_path()));
}

TEST(ModelCache, StorePersistsAcrossInstances) {
    TempDir dir;
    {
        ModelCache cache(dir.str(), "endpoint-1");
        cache.store("LoRA", json::array({json{{"name", "style/ink.safetensors"}}}));
    }
    ModelCache reloaded(dir.str(), "endpoint-1");
    EXPECT_EQ(reloaded.file_path(), dir.str() + "/models_endpoint-1.json");
    const json list = reloaded.list("LoRA");
    ASSERT_EQ(list["models"].size(), 1u);
    EXPECT_EQ(list["models"][0]["title"], "ink.safetensors");
    EXPECT_TRUE(list["updated_at"].is_number());
    EXPECT_EQ(reloaded.cached_subtypes(), (std::vector<std::string>{"LoRA"}));
    EXPECT_TRUE(ModelCache(dir.str(), "endpoint-2").list("LoRA")["models"].empty());
}

TEST(ModelCache, CorruptFileIgnored) {
    TempDir dir;
    write(dir.str() + "/models_endpoint-1.json", "{not json");
    ModelCache cache(dir.str(), "endpoint-1");
    EXPECT_TRUE(cache.list("Stable-Diffusion")["models"].empty());
    cache.store("Stable-Diffusion", json::array({json{{"name", "m.safetensors"}}}));
    EXPECT_EQ(ModelCache(dir.str(), "endpoint-1").list("Stable-Diffusion")["models"].size(), 1u);
}

TEST(ModelCache, ClosestNamesRanksSubstringThenDistance) {
    ModelCache cache("", "endpoint-1");
    cache.store("Stable-Diffusion", json::array({json{{"name", "OfficialStableDiffusion/sd_xl_base_1.0.safetensors"}},
                                                 json{{"name", "flux1-dev.safetensors"}},
                                                 json{{"name", "juggernautXL.safetensors"}},
                                                 json{{"name", "unrelated-thing.ckpt"}}}));
    const auto base = cache.closest_names("Stable-Diffusion", "sd_xl_base");
    ASSERT_FALSE(base.empty());
    EXPECT_EQ(base[0], "OfficialStableDiffusion/sd_xl_base_1.0.safetensors");

    const auto typo = cache.closest_names("Stable-Diffusion", "flux1-deb");
    ASSERT_EQ(typo.size(), 1u);
    EXPECT_EQ(typo[0], "flux1-dev.safetensors");

    EXPECT_TRUE(cache.closest_names("Stable-Diffusion", "zzzzzzzzzzzz").empty());
    EXPECT_TRUE(cache.closest_names("LoRA", "flux").empty());
}

TEST(ModelCache, UnknownSubtypeNamesAcceptedOnes) {
    try {
        swarmpod::backend::check_model_subtype("Checkpoints");
        FAIL() << "expected an error";
    } catch (const swarmpod::Error& error) {
        EXPECT_EQ(error.status(), swarmpod::Status::invalid_argument);
        const std::string text = error.what();
        EXPECT_NE(text.find("Checkpoints"), std::string::npos) << text;
        EXPECT_NE(text.find("Stable-Diffusion"), std::string::npos) << text;
    }
    EXPECT_NO_THROW(swarmpod::backend::check_model_subtype("ClipVision"));
}

TEST(DurationStats, MedianOfLastTen) {
    DurationStats stats("", "cold_starts.json", "cold-start");
    EXPECT_FALSE(stats.estimate("e").has_value());
    for (int i = 1; i <= 12; ++i) stats.record("e", i);  // keeps 3..12
    ASSERT_TRUE(stats.estimate("e").has_value());
    EXPECT_DOUBLE_EQ(*stats.estimate("e"), 7.5);
    stats.record("e", -1);
    stats.record("e", std::numeric_limits<double>::infinity());
    EXPECT_DOUBLE_EQ(*stats.estimate("e"), 7.5);
    EXPECT_FALSE(stats.estimate("other").has_value());
}

TEST(DurationStats, PersistsAndToleratesCorruptFile) {
    TempDir dir;
    {
        DurationStats stats(dir.str(), "cold_starts.json", "cold-start");
        stats.record("e", 20);
        stats.record("e", 40);
        stats.record("e", 30);
    }
    EXPECT_DOUBLE_EQ(*DurationStats(dir.str(), "cold_starts.json", "cold-start").estimate("e"), 30.0);

    write(dir.str() + "/cold_starts.json", "]]garbage");
    DurationStats corrupt(dir.str(), "cold_starts.json", "cold-start");
    EXPECT_FALSE(corrupt.estimate("e").has_value());
    corrupt.record("e", 5);
    EXPECT_DOUBLE_EQ(*DurationStats(dir.str(), "cold_starts.json", "cold-start").estimate("e"), 5.0);
}

TEST(DurationStats, SaveIntervalDefersWritesToFree) {
    TempDir dir;
    const std::string path = dir.str() + "/generation_times.json";
    {
        DurationStats stats(dir.str(), "generation_times.json", "generation-time", swarmpod::Millis(3600 * 1000));
        stats.record("e", 5);
        // The first sample of an endpoint is written at once, later ones wait for the interval.
        EXPECT_DOUBLE_EQ(*DurationStats(dir.str(), "generation_times.json", "generation-time").estimate("e"), 5.0);
        stats.record("e", 7);
        stats.record("e", 9);
        EXPECT_DOUBLE_EQ(*DurationStats(dir.str(), "generation_times.json", "generation-time").estimate("e"), 5.0);
    }
    // Freeing the stats writes what was not saved.
    EXPECT_DOUBLE_EQ(*DurationStats(dir.str(), "generation_times.json", "generation-time").estimate("e"), 7.0);
}

TEST(DurationStats, ConcurrentRecords) {
    TempDir dir;
    DurationStats stats(dir.str(), "cold_starts.json", "cold-start");
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&stats] {
            for (int i = 0; i < 25; ++i) stats.record("e", 10);
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_DOUBLE_EQ(*stats.estimate("e"), 10.0);
    EXPECT_DOUBLE_EQ(*DurationStats(dir.str(), "cold_starts.json", "cold-start").estimate("e"), 10.0);
}

TEST(DurationStats, CacheDirectoryFallbacks) {
    const char* old_home = std::getenv("HOME");
    const std::string saved_home = old_home == nullptr ? "" : old_home;
    const char* old_xdg = std::getenv("XDG_CACHE_HOME");
    const std::string saved_xdg = old_xdg == nullptr ? "" : old_xdg;

    EXPECT_EQ(swarmpod::backend::cache_directory("/explicit"), "/explicit");
    ::setenv("XDG_CACHE_HOME", "/xdg", 1);
    EXPECT_EQ(swarmpod::backend::cache_directory(""), "/xdg/swarmpod");
    ::unsetenv("XDG_CACHE_HOME");
    ::setenv("HOME", "/home/someone", 1);
    EXPECT_EQ(swarmpod::backend::cache_directory(""), "/home/someone/.cache/swarmpod");

    if (old_home != nullptr) ::setenv("HOME", saved_home.c_str(), 1);
    if (old_xdg != nullptr) ::setenv("XDG_CACHE_HOME", saved_xdg.c_str(), 1);
}

}  // namespace

namespace {

TEST(ModelCacheRefresh, OneTurnPerInterval) {
    swarmpod::backend::ModelCache cache("", "endpoint");
    EXPECT_TRUE(cache.take_refresh_turn(std::chrono::seconds(60)));
    EXPECT_FALSE(cache.take_refresh_turn(std::chrono::seconds(60)));
    EXPECT_TRUE(cache.take_refresh_turn(std::chrono::seconds(0)));
}

}  // namespace
