// Live generation over GenerateText2ImageWS: progress, previews, batches, cancel,
// session renewal, the HTTP fallback under RunPod's proxy cut, and the model lists.
// The real libswarmpod.so through its C ABI, against swarmpod-emulator on loopback.
#include <gtest/gtest.h>

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unistd.h>

#include "integration/abi_session.hpp"
#include "integration/emulator_process.hpp"

namespace {

using nlohmann::json;
using swarmpod::testing::Backend;
using swarmpod::testing::EmulatorProcess;
using swarmpod::testing::emulator_config;
namespace fs = std::filesystem;

std::vector<std::string> emulator_args(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--cold-start-ms", "250", "--generation-ms", "50", "--idle-timeout-ms", "1000",
                                     "--cancel-stop-ms", "50"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

// A fresh model cache directory per test, removed at the end.
class CacheDir {
public:
    CacheDir() {
        static int counter = 0;
        path_ = fs::temp_directory_path() /
                ("swarmpod-live-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        fs::remove_all(path_);
    }
    ~CacheDir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    std::string str() const { return path_.string(); }

private:
    fs::path path_;
};

std::string live_config(const EmulatorProcess& emulator, const CacheDir& cache, const std::string& extra = "") {
    std::string fields = "\"KeepWarmSec\": 0, \"ModelCachePath\": \"" + cache.str() + "\"";
    if (!extra.empty()) fields += ", " + extra;
    return emulator_config(emulator, fields);
}

std::string request(int images, int width = 64, int height = 64) {
    return json{{"prompt", "a lighthouse at dusk"}, {"model", "OfficialStableDiffusion/sd_xl_base_1.0.safetensors"},
                {"images", images}, {"seed", 42}, {"width", width}, {"height", height}, {"steps", 20},
                {"exactbackendid", "3"}, {"internalbackendtype", "comfyui_selfstart"}}
        .dump();
}

struct Progress {
    int phase = 0;
    int batch_index = -1;
    double overall = -1;
    double current = -1;
    std::string message;
    std::string preview_mime;
    std::vector<uint8_t> preview;
};

struct Image {
    int batch_index = -1;
    std::string mime;
    int width = 0;
    int height = 0;
    std::size_t size = 0;
    std::string metadata;
};

// Records every callback; `on_event` runs inside the progress callback.
struct LiveCollector {
    std::vector<Progress> progress;
    std::vector<Image> images;
    std::function<void(const Progress&)> on_event;
    std::chrono::steady_clock::time_point last_image_at{};

    swarmpod_callbacks callbacks() {
        swarmpod_callbacks c{};
        c.struct_size = sizeof c;
        c.on_progress = &LiveCollector::progress_fn;
        c.on_image = &LiveCollector::image_fn;
        c.user_data = this;
        return c;
    }
    static int32_t progress_fn(void* user_data, const swarmpod_progress* event) {
        auto* self = static_cast<LiveCollector*>(user_data);
        Progress copy;
        copy.phase = event->phase;
        copy.batch_index = event->batch_index;
        copy.overall = event->overall_percent;
        copy.current = event->current_percent;
        copy.message = event->message ? event->message : "";
        copy.preview_mime = event->preview_mime ? event->preview_mime : "";
        if (event->preview != nullptr) copy.preview.assign(event->preview, event->preview + event->preview_size);
        self->progress.push_back(copy);
        if (self->on_event) self->on_event(self->progress.back());
        return 0;
    }
    static int32_t image_fn(void* user_data, const swarmpod_image* image) {
        auto* self = static_cast<LiveCollector*>(user_data);
        self->last_image_at = std::chrono::steady_clock::now();
        self->images.push_back(Image{image->batch_index, image->mime ? image->mime : "", image->width, image->height,
                                     image->size, image->metadata ? image->metadata : ""});
        return 0;
    }
};

struct Outcome {
    int32_t status = 0;
    std::string message;
    json summary;
};

Outcome run(swarmpod_backend* backend, const std::string& body, LiveCollector& collector,
            swarmpod_generation* generation = nullptr) {
    swarmpod_callbacks callbacks = collector.callbacks();
    char* result = nullptr;
    Outcome outcome;
    outcome.status = swarmpod_generate(backend, body.c_str(), "test-key", generation, &callbacks, &result);
    outcome.message = swarmpod_last_error_message();
    if (result != nullptr) {
        outcome.summary = json::parse(result);
        swarmpod_string_free(result);
    }
    return outcome;
}

struct ModelsOutcome {
    int32_t status = 0;
    std::string message;
    json answer;
};

ModelsOutcome list_models(swarmpod_backend* backend, const char* subtype, int refresh) {
    char* out = nullptr;
    ModelsOutcome outcome;
    outcome.status = swarmpod_backend_list_models(backend, subtype, refresh, "test-key", &out);
    outcome.message = swarmpod_last_error_message();
    if (out != nullptr) {
        outcome.answer = json::parse(out);
        swarmpod_string_free(out);
    }
    return outcome;
}

bool no_running_jobs(const json& ledger) { return ledger.value("running_jobs", -1) == 0; }

void post_admin(const EmulatorProcess& emulator, const std::string& path, const std::string& body = "{}") {
    httplib::Client client("127.0.0.1", emulator.port());
    const auto reply = client.Post(path.c_str(), body, "application/json");
    if (!reply || reply->status != 200) throw std::runtime_error("admin call failed: " + path);
}

class Generation {
public:
    Generation() { swarmpod_generation_new(&handle_); }
    ~Generation() { swarmpod_generation_free(handle_); }
    Generation(const Generation&) = delete;
    Generation& operator=(const Generation&) = delete;
    swarmpod_generation* get() const { return handle_; }

private:
    swarmpod_generation* handle_ = nullptr;
};

TEST(LiveGeneration, ProgressRisesWithJpegPreviews) {
    EmulatorProcess emulator(emulator_args({"--generation-ms", "200", "--steps-per-image", "4"}));
    CacheDir cache;
    Backend backend(live_config(emulator, cache));
    LiveCollector collector;

    const Outcome outcome = run(backend.get(), request(2), collector);

    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    EXPECT_EQ(outcome.summary.value("transport", ""), "websocket");
    double last_overall = -1;
    int previews = 0;
    for (const Progress& event : collector.progress) {
        if (event.phase != SWARMPOD_PHASE_GENERATING || event.overall < 0) continue;
        EXPECT_GE(event.overall, last_overall) << event.message;
        last_overall = event.overall;
        if (event.preview.empty()) continue;
        ++previews;
        EXPECT_EQ(event.preview_mime, "image/jpeg");
        ASSERT_GE(event.preview.size(), 4u);
        EXPECT_EQ(event.preview[0], 0xFF);
        EXPECT_EQ(event.preview[1], 0xD8);
        EXPECT_GE(event.batch_index, 0);
        EXPECT_GE(event.current, 0.0);
        EXPECT_LE(event.current, 1.0);
    }
    EXPECT_GE(previews, 8) << "4 steps per image, 2 images";
    EXPECT_DOUBLE_EQ(last_overall, 1.0);
    EXPECT_EQ(collector.progress.back().phase, SWARMPOD_PHASE_DONE);
}

// SwarmUI waits 2 s after socket_intention "close" before its own Close. The library closes
// the socket itself once every image arrived, so a generation does not end 2 s late.
TEST(LiveGeneration, ClientClosesAfterCloseIntention) {
    EmulatorProcess emulator(emulator_args({"--ws-linger-ms", "2000"}));
    CacheDir cache;
    Backend backend(live_config(emulator, cache));
    LiveCollector collector;

    const Outcome outcome = run(backend.get(), request(2), collector);

    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    EXPECT_EQ(outcome.summary.value("transport", ""), "websocket");
    EXPECT_EQ(collector.images.size(), 2u);
    // The close handshake may still run in the background: wait for it, but for less
    // than the emulator's 2 s linger, after which the emulator would close by itself.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
    while (emulator.ledger().value("ws_client_closes", -1) != 1 && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(emulator.ledger().value("ws_client_closes", -1), 1);
}

// A worker whose reply to the Close frame comes late (3 s here, a slow proxy) does not hold
// up the generation. It returns right after its last image, and the socket closes in the
// background. Waiting for the reply would add up to the 1 s close wait.
TEST(LiveGeneration, ReturnsWithoutWaitingForCloseReply) {
    EmulatorProcess emulator(emulator_args({"--ws-linger-ms", "5000", "--ws-close-reply-ms", "3000"}));
    CacheDir cache;
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 30, \"ModelCachePath\": \"" + cache.str() + "\""));

    for (int round = 0; round < 2; ++round) {
        LiveCollector collector;
        const Outcome outcome = run(backend.get(), request(1), collector);
        const auto returned_at = std::chrono::steady_clock::now();

        ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
        ASSERT_EQ(collector.images.size(), 1u);
        const auto tail = std::chrono::duration_cast<std::chrono::milliseconds>(returned_at - collector.last_image_at);
        EXPECT_LT(tail.count(), 600) << "round " << round;
    }
}

// A warm worker's next generation uses a WebSocket opened while the worker waited, so it
// skips the connect and the upgrade.
TEST(LiveGeneration, WarmWorkerUsesSocketOpenedAhead) {
    EmulatorProcess emulator(emulator_args());
    CacheDir cache;
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 30, \"ModelCachePath\": \"" + cache.str() + "\""));
    LiveCollector first_images;
    LiveCollector second_images;

    const Outcome first = run(backend.get(), request(1), first_images);
    const Outcome second = run(backend.get(), request(1), second_images);

    ASSERT_EQ(first.status, SWARMPOD_OK) << first.message;
    ASSERT_EQ(second.status, SWARMPOD_OK) << second.message;
    EXPECT_FALSE(first.summary.contains("websocket_opened_ahead")) << first.summary.dump();
    EXPECT_TRUE(second.summary.value("websocket_opened_ahead", false)) << second.summary.dump();
    EXPECT_EQ(second.summary.value("worker_id", ""), first.summary.value("worker_id", ""));
    EXPECT_EQ(second_images.images.size(), 1u);
    EXPECT_EQ(emulator.ledger()["images"].size(), 2u);
}

// SwarmUI closes a socket that gets no request in time (here 200 ms). The generation then
// opens a new socket and sends its request once, without counting a reconnect.
TEST(LiveGeneration, StaleSocketOpenedAheadIsReplaced) {
    EmulatorProcess emulator(emulator_args({"--ws-first-message-timeout-ms", "200"}));
    CacheDir cache;
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 30, \"ModelCachePath\": \"" + cache.str() + "\""));
    LiveCollector first_images;
    LiveCollector second_images;

    const Outcome first = run(backend.get(), request(1), first_images);
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    const Outcome second = run(backend.get(), request(2), second_images);

    ASSERT_EQ(first.status, SWARMPOD_OK) << first.message;
    ASSERT_EQ(second.status, SWARMPOD_OK) << second.message;
    EXPECT_FALSE(second.summary.contains("websocket_opened_ahead")) << second.summary.dump();
    EXPECT_FALSE(second.summary.contains("reconnects")) << second.summary.dump();
    EXPECT_EQ(second_images.images.size(), 2u);
    EXPECT_EQ(emulator.ledger()["images"].size(), 3u) << "the request was sent once";
}

TEST(LiveGeneration, BatchOfFourHasIndicesAndMetadata) {
    EmulatorProcess emulator(emulator_args());
    CacheDir cache;
    Backend backend(live_config(emulator, cache));
    LiveCollector collector;

    const Outcome outcome = run(backend.get(), request(4, 96, 64), collector);

    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    ASSERT_EQ(collector.images.size(), 4u);
    std::vector<int> indices;
    for (const Image& image : collector.images) {
        indices.push_back(image.batch_index);
        EXPECT_EQ(image.mime, "image/png");
        EXPECT_EQ(image.width, 96);
        EXPECT_EQ(image.height, 64);
        const json metadata = json::parse(image.metadata, nullptr, false);
        ASSERT_TRUE(metadata.is_object()) << image.metadata;
        EXPECT_EQ(metadata["sui_image_params"].value("prompt", ""), "a lighthouse at dusk");
    }
    std::sort(indices.begin(), indices.end());
    EXPECT_EQ(indices, (std::vector<int>{0, 1, 2, 3}));
    EXPECT_EQ(outcome.summary["images"].size(), 4u);
}

TEST(LiveGeneration, BatchSizeTimesImagesOverBothTransports) {
    EmulatorProcess emulator(emulator_args());
    json batched = json::parse(request(2));
    batched["batchsize"] = 2;
    for (const char* transport : {"true", "false"}) {
        CacheDir cache;
        Backend backend(live_config(emulator, cache, std::string("\"UseWebSocket\": ") + transport));
        LiveCollector collector;

        const Outcome outcome = run(backend.get(), batched.dump(), collector);

        ASSERT_EQ(outcome.status, SWARMPOD_OK) << transport << ": " << outcome.message;
        ASSERT_EQ(collector.images.size(), 4u) << transport;
        std::vector<int> indices;
        for (const Image& image : collector.images) indices.push_back(image.batch_index);
        std::sort(indices.begin(), indices.end());
        EXPECT_EQ(indices, (std::vector<int>{0, 1, 2, 3})) << transport;
        EXPECT_EQ(outcome.summary["images"].size(), 4u) << transport;
    }
    // Two jobs of two images per request: 4 images each time, never 2 or 8.
    const json ledger = emulator.ledger();
    EXPECT_EQ(ledger["images"].size(), 8u);
    EXPECT_EQ(ledger.value("generations", 0), 2);
}

TEST(LiveGeneration, BatchImagesShareTheirJobSeed) {
    EmulatorProcess emulator(emulator_args());
    CacheDir cache;
    Backend backend(live_config(emulator, cache));
    LiveCollector collector;
    json batched = json::parse(request(2));
    batched["batchsize"] = 2;

    const Outcome outcome = run(backend.get(), batched.dump(), collector);

    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    ASSERT_EQ(collector.images.size(), 4u);
    std::map<int, long long> seeds;
    for (const Image& image : collector.images) {
        const json metadata = json::parse(image.metadata, nullptr, false);
        ASSERT_TRUE(metadata.is_object()) << image.metadata;
        seeds[image.batch_index] = metadata["sui_image_params"].value("seed", -1LL);
    }
    // SwarmUI gives job j the seed seed + j * batchsize, so seed 42 gives jobs 42 and 44.
    EXPECT_EQ(seeds, (std::map<int, long long>{{0, 42}, {1, 42}, {2, 44}, {3, 44}}));
}

// Runs images x batchsize with seed 42 while the emulator ends the WebSocket after image
// number `skip` + 1, so the library reconnects once and requests the rest. `kind`
// drop_socket ends it with a Close frame, cut_socket without one. With `count` 2 the new
// socket is ended the same way after its first image.
Outcome run_with_dropped_socket(int images, int batch_size, int skip, LiveCollector& collector, json& ledger,
                                const char* kind = "drop_socket", int count = 1) {
    EmulatorProcess emulator(emulator_args());
    post_admin(emulator, "/admin/faults",
               json::array({{{"route", "image"}, {"kind", kind}, {"skip", skip}, {"count", count}}}).dump());
    CacheDir cache;
    Backend backend(live_config(emulator, cache));
    json batched = json::parse(request(images));
    batched["batchsize"] = batch_size;
    const Outcome outcome = run(backend.get(), batched.dump(), collector);
    ledger = emulator.ledger();
    return outcome;
}

TEST(LiveGeneration, ReconnectBetweenJobsAsksForRemainingJobs) {
    LiveCollector collector;
    json ledger;

    const Outcome outcome = run_with_dropped_socket(3, 2, 1, collector, ledger);

    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    EXPECT_EQ(outcome.summary.value("reconnects", 0), 1) << outcome.summary.dump();
    ASSERT_EQ(collector.images.size(), 6u);
    EXPECT_EQ(ledger["images"].size(), 6u) << "the second request asked for more than the 2 missing jobs";
    std::map<int, long long> seeds;
    for (const Image& image : collector.images) {
        const json metadata = json::parse(image.metadata, nullptr, false);
        ASSERT_TRUE(metadata.is_object()) << image.metadata;
        seeds[image.batch_index] = metadata["sui_image_params"].value("seed", -1LL);
    }
    // The first job (seed 42) arrived whole; the new request starts at seed 44, as job 1 would have.
    EXPECT_EQ(seeds, (std::map<int, long long>{{0, 42}, {1, 42}, {2, 44}, {3, 44}, {4, 46}, {5, 46}}));
}

TEST(LiveGeneration, ReconnectInsideJobAsksForWholeBatches) {
    LiveCollector collector;
    json ledger;

    const Outcome outcome = run_with_dropped_socket(2, 2, 0, collector, ledger);

    // 3 of 4 images were missing; 2 jobs of 2 bring 4, one of them extra.
    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    EXPECT_EQ(outcome.summary.value("reconnects", 0), 1) << outcome.summary.dump();
    ASSERT_EQ(collector.images.size(), 5u);
    EXPECT_EQ(ledger["images"].size(), 5u);
    std::vector<int> indices;
    for (const Image& image : collector.images) indices.push_back(image.batch_index);
    std::sort(indices.begin(), indices.end());
    EXPECT_EQ(indices, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(LiveGeneration, ConnectionCutWithoutCloseFrameIsReopened) {
    LiveCollector collector;
    json ledger;

    const Outcome outcome = run_with_dropped_socket(3, 1, 0, collector, ledger, "cut_socket");

    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    EXPECT_EQ(outcome.summary.value("reconnects", 0), 1) << outcome.summary.dump();
    ASSERT_EQ(collector.images.size(), 3u);
    EXPECT_EQ(ledger["images"].size(), 3u) << "the second request asked for more than the 2 missing images";
    std::vector<int> indices;
    for (const Image& image : collector.images) indices.push_back(image.batch_index);
    std::sort(indices.begin(), indices.end());
    EXPECT_EQ(indices, (std::vector<int>{0, 1, 2}));
}

TEST(LiveGeneration, SecondCutFailsWithTheReason) {
    LiveCollector collector;
    json ledger;

    const Outcome outcome = run_with_dropped_socket(3, 1, 0, collector, ledger, "cut_socket", 2);

    EXPECT_EQ(outcome.status, SWARMPOD_E_NETWORK) << outcome.message;
    EXPECT_NE(outcome.message.find("lost twice"), std::string::npos) << outcome.message;
    EXPECT_NE(outcome.message.find("without a WebSocket Close frame"), std::string::npos) << outcome.message;
    EXPECT_NE(outcome.message.find("2 of 3 image(s)"), std::string::npos) << outcome.message;
    EXPECT_EQ(collector.images.size(), 2u) << "images delivered before the second cut stay delivered";
}

// A damaged first image does not stop the request over the WebSocket: the other two are
// received and handed on (they are billed as well), then the error names batch index 0.
TEST(LiveGeneration, ImagesAfterDamagedOneDelivered) {
    EmulatorProcess emulator(emulator_args());
    post_admin(emulator, "/admin/faults", R"([{"route": "image", "kind": "corrupt_image", "count": 1}])");
    CacheDir cache;
    Backend backend(live_config(emulator, cache));
    LiveCollector collector;

    const Outcome outcome = run(backend.get(), request(3), collector);

    EXPECT_EQ(outcome.status, SWARMPOD_E_IMAGE_INVALID) << outcome.message;
    EXPECT_NE(outcome.message.find("batch index 0"), std::string::npos) << outcome.message;
    EXPECT_EQ(collector.images.size(), 2u);
}

// The memory benchmark needs images as large as their pixels: --image-noise makes PNGs that
// do not compress (3 bytes per pixel plus PNG framing), still the same for the same request.
TEST(LiveGeneration, NoiseImagesDoNotCompress) {
    std::vector<std::size_t> sizes;
    for (const bool noise : {false, true}) {
        EmulatorProcess emulator(emulator_args(noise ? std::vector<std::string>{"--image-noise"}
                                                     : std::vector<std::string>{}));
        CacheDir cache;
        Backend backend(live_config(emulator, cache));
        LiveCollector collector;

        const Outcome outcome = run(backend.get(), request(1, 256, 256), collector);

        ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
        ASSERT_EQ(collector.images.size(), 1u);
        EXPECT_EQ(collector.images[0].width, 256);
        sizes.push_back(collector.images[0].size);
    }
    EXPECT_LT(sizes[0], 256u * 256u) << "the pattern compresses";
    EXPECT_GE(sizes[1], 256u * 256u * 3u) << "noise does not";
}

TEST(LiveGeneration, WebpAndJpegFormatsDecoded) {
    for (const char* format : {"jpeg", "webp"}) {
        EmulatorProcess emulator(emulator_args({"--image-format", format}));
        CacheDir cache;
        Backend backend(live_config(emulator, cache));
        LiveCollector collector;

        const Outcome outcome = run(backend.get(), request(1, 128, 64), collector);

        ASSERT_EQ(outcome.status, SWARMPOD_OK) << format << ": " << outcome.message;
        ASSERT_EQ(collector.images.size(), 1u);
        EXPECT_EQ(collector.images[0].mime, std::string("image/") + format);
        EXPECT_EQ(collector.images[0].width, 128) << format;
        EXPECT_EQ(collector.images[0].height, 64) << format;
    }
}

// A one-image generation on `backend` cancelled as soon as its first step is reported.
struct CancelledRun {
    Outcome outcome;
    LiveCollector collector;
    double seconds_to_return = 0;  // from the cancel to the return of the generate call
};

CancelledRun cancel_while_generating(swarmpod_backend* backend) {
    CancelledRun result;
    Generation generation;
    std::atomic<bool> generating{false};
    result.collector.on_event = [&](const Progress& event) {
        if (event.phase == SWARMPOD_PHASE_GENERATING && event.batch_index >= 0) generating = true;
    };
    std::chrono::steady_clock::time_point cancelled_at;
    std::thread canceller([&] {
        while (!generating) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        cancelled_at = std::chrono::steady_clock::now();
        swarmpod_generation_cancel(generation.get());
    });

    result.outcome = run(backend, request(1), result.collector, generation.get());
    const auto returned_at = std::chrono::steady_clock::now();
    canceller.join();
    result.seconds_to_return = std::chrono::duration<double>(returned_at - cancelled_at).count();
    result.collector.on_event = nullptr;  // it refers to `generating`, which ends here
    return result;
}

TEST(LiveGeneration, CancelDuringGenerationWithinOneSecond) {
    EmulatorProcess emulator(emulator_args({"--generation-ms", "4000", "--steps-per-image", "20"}));
    CacheDir cache;
    Backend backend(live_config(emulator, cache));

    const CancelledRun cancelled = cancel_while_generating(backend.get());

    EXPECT_EQ(cancelled.outcome.status, SWARMPOD_E_CANCELLED) << cancelled.outcome.message;
    EXPECT_LT(cancelled.seconds_to_return, 1.0);
    EXPECT_TRUE(cancelled.collector.images.empty());
    const json ledger = emulator.wait_for_ledger(no_running_jobs, 3000);
    EXPECT_EQ(ledger.value("running_jobs", -1), 0) << ledger.dump();
}

// RunPod replies to /cancel only after 6 s. The cancelled call waits at most 2 s for it and
// returns, and freeing the backend then ends the job.
TEST(LiveGeneration, CancelReturnsWhenRunPodCancelIsSlow) {
    EmulatorProcess emulator(emulator_args({"--generation-ms", "4000", "--steps-per-image", "20"}));
    post_admin(emulator, "/admin/faults",
               json::array({{{"route", "cancel"}, {"kind", "slow"}, {"delay_ms", 6000}}}).dump());
    CacheDir cache;
    auto backend = std::make_unique<Backend>(live_config(emulator, cache));

    const CancelledRun cancelled = cancel_while_generating(backend->get());
    backend.reset();

    EXPECT_EQ(cancelled.outcome.status, SWARMPOD_E_CANCELLED) << cancelled.outcome.message;
    EXPECT_LT(cancelled.seconds_to_return, 4.0) << "about 2 s, not 15";
    const json ledger = emulator.wait_for_ledger(no_running_jobs, 10000);
    EXPECT_EQ(ledger.value("running_jobs", -1), 0) << ledger.dump();
}

TEST(LiveGeneration, CancelOneOfTwoLeavesOther) {
    // v2 leases, because two v1 workers woken at once cannot each be held by their keepalive.
    EmulatorProcess emulator(emulator_args({"--generation-ms", "1500", "--steps-per-image", "10", "--protocol", "v2"}));
    CacheDir cache;
    Backend backend(live_config(emulator, cache, "\"WorkerProtocol\": \"v2\""));
    Generation cancelled_generation;
    LiveCollector cancelled_collector;
    LiveCollector kept_collector;
    std::atomic<bool> kept_generating{false};
    kept_collector.on_event = [&](const Progress& event) {
        if (event.phase == SWARMPOD_PHASE_GENERATING && event.batch_index >= 0) kept_generating = true;
    };
    cancelled_collector.on_event = [&](const Progress& event) {
        // Cancel only once both generations are sampling, so an InterruptAll that
        // reached the other session would stop it.
        if (event.phase == SWARMPOD_PHASE_GENERATING && event.batch_index >= 0 && kept_generating) {
            swarmpod_generation_cancel(cancelled_generation.get());
        }
    };

    Outcome kept;
    std::thread other([&] { kept = run(backend.get(), request(1), kept_collector); });
    const Outcome cancelled = run(backend.get(), request(1), cancelled_collector, cancelled_generation.get());
    other.join();

    EXPECT_EQ(cancelled.status, SWARMPOD_E_CANCELLED) << cancelled.message;
    ASSERT_EQ(kept.status, SWARMPOD_OK) << kept.message;
    EXPECT_EQ(kept_collector.images.size(), 1u);
    EXPECT_NE(kept.summary.value("worker_id", ""), "");
}

TEST(LiveGeneration, InvalidatedSessionRenewedOnce) {
    EmulatorProcess emulator(emulator_args());
    CacheDir cache;
    Backend backend(live_config(emulator, cache));
    LiveCollector collector;
    bool invalidated = false;
    collector.on_event = [&](const Progress& event) {
        // This event comes after GetNewSession and before the WebSocket request.
        if (!invalidated && event.phase == SWARMPOD_PHASE_GENERATING && event.message.rfind("Generating ", 0) == 0) {
            post_admin(emulator, "/admin/invalidate-sessions");
            invalidated = true;
        }
    };

    const Outcome outcome = run(backend.get(), request(1), collector);

    ASSERT_TRUE(invalidated);
    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    EXPECT_EQ(outcome.summary.value("session_renewals", 0), 1);
    EXPECT_EQ(collector.images.size(), 1u);
}

TEST(LiveGeneration, HttpFallbackCutByProxyWebSocketNot) {
    EmulatorProcess emulator(emulator_args({"--generation-ms", "1000", "--proxy-cut-ms", "300",
                                            "--keepalive-ms", "100"}));
    CacheDir cache;
    {
        Backend http_backend(live_config(emulator, cache, "\"UseWebSocket\": false"));
        LiveCollector collector;
        const Outcome outcome = run(http_backend.get(), request(1), collector);
        EXPECT_NE(outcome.status, SWARMPOD_OK);
        EXPECT_NE(outcome.message.find("UseWebSocket"), std::string::npos) << outcome.message;
        EXPECT_TRUE(collector.images.empty());
    }
    Backend ws_backend(live_config(emulator, cache));
    LiveCollector collector;
    const Outcome outcome = run(ws_backend.get(), request(1), collector);
    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    EXPECT_EQ(collector.images.size(), 1u);
}

TEST(LiveGeneration, V2LeaseTokenOnUpgrade) {
    EmulatorProcess emulator(emulator_args({"--protocol", "v2"}));
    CacheDir cache;
    Backend backend(live_config(emulator, cache, "\"WorkerProtocol\": \"v2\""));
    LiveCollector collector;

    const Outcome outcome = run(backend.get(), request(2), collector);

    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    EXPECT_EQ(outcome.summary.value("protocol", 0), 2);
    EXPECT_EQ(collector.images.size(), 2u);
}

TEST(LiveModels, CacheOnlyBeforeAnyWorker) {
    EmulatorProcess emulator(emulator_args());
    CacheDir cache;
    Backend backend(live_config(emulator, cache));

    const ModelsOutcome outcome = list_models(backend.get(), "Stable-Diffusion", 0);

    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    EXPECT_EQ(outcome.answer.value("source", ""), "cache");
    EXPECT_TRUE(outcome.answer["models"].empty());
    EXPECT_TRUE(outcome.answer["updated_at"].is_null());
    EXPECT_TRUE(emulator.ledger()["jobs"].empty());
    EXPECT_FALSE(fs::exists(cache.str() + "/models_test-endpoint.json"));
}

TEST(LiveModels, RefreshReadsWorkerModels) {
    EmulatorProcess emulator(emulator_args());
    CacheDir cache;
    Backend backend(live_config(emulator, cache));

    const ModelsOutcome outcome = list_models(backend.get(), "Stable-Diffusion", 1);

    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    EXPECT_EQ(outcome.answer.value("source", ""), "worker");
    const json& models = outcome.answer["models"];
    ASSERT_EQ(models.size(), 3u) << models.dump();
    for (const json& model : models) {
        for (const char* field : {"name", "title", "description", "architecture", "class", "preview_image"}) {
            EXPECT_TRUE(model[field].is_string()) << field << " in " << model.dump();
        }
        EXPECT_TRUE(model["standard_width"].is_number_integer()) << model.dump();
        EXPECT_TRUE(model["standard_height"].is_number_integer()) << model.dump();
        EXPECT_EQ(model["loaded"], false);
        EXPECT_EQ(model["local"], false);
        EXPECT_EQ(model["is_supported_model_format"], true);
        EXPECT_EQ(model["preview_image"], "imgs/model_placeholder.jpg");
    }
    EXPECT_TRUE(fs::exists(cache.str() + "/models_test-endpoint.json"));
    const ModelsOutcome cached = list_models(backend.get(), "Stable-Diffusion", 0);
    EXPECT_EQ(cached.answer["models"].size(), 3u);
    EXPECT_EQ(cached.answer.value("source", ""), "cache");
}

TEST(LiveModels, GenerationFillsCacheWithoutExtraJob) {
    EmulatorProcess emulator(emulator_args());
    CacheDir cache;
    Backend backend(live_config(emulator, cache));
    LiveCollector collector;

    const Outcome outcome = run(backend.get(), request(1), collector);
    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    const std::size_t jobs_after_generation = emulator.ledger()["jobs"].size();

    const ModelsOutcome models = list_models(backend.get(), "Stable-Diffusion", 0);
    const ModelsOutcome loras = list_models(backend.get(), "LoRA", 0);

    ASSERT_EQ(models.status, SWARMPOD_OK) << models.message;
    EXPECT_EQ(models.answer["models"].size(), 3u);
    EXPECT_EQ(loras.answer["models"].size(), 1u);
    EXPECT_EQ(emulator.ledger()["jobs"].size(), jobs_after_generation);
}

TEST(LiveModels, EmptyListIsError) {
    EmulatorProcess emulator(emulator_args());
    CacheDir cache;
    Backend backend(live_config(emulator, cache));

    const ModelsOutcome outcome = list_models(backend.get(), "VAE", 1);

    EXPECT_EQ(outcome.status, SWARMPOD_E_WORKER);
    EXPECT_NE(outcome.message.find("no models (is the network volume mounted?)"), std::string::npos)
        << outcome.message;
    EXPECT_TRUE(list_models(backend.get(), "VAE", 0).answer["models"].empty());
}

TEST(LiveModels, BadArgumentsRejected) {
    EmulatorProcess emulator(emulator_args());
    CacheDir cache;
    Backend backend(live_config(emulator, cache));

    const ModelsOutcome unknown = list_models(backend.get(), "Checkpoints", 0);
    EXPECT_EQ(unknown.status, SWARMPOD_E_INVALID_ARGUMENT);
    EXPECT_NE(unknown.message.find("Checkpoints"), std::string::npos) << unknown.message;
    EXPECT_EQ(list_models(backend.get(), "LoRA", 2).status, SWARMPOD_E_INVALID_ARGUMENT);
    EXPECT_EQ(swarmpod_backend_list_models(backend.get(), "LoRA", 0, nullptr, nullptr), SWARMPOD_E_INVALID_ARGUMENT);
    EXPECT_TRUE(emulator.ledger()["jobs"].empty());
}

}  // namespace
