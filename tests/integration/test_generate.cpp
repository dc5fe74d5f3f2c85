// The walking skeleton end to end: the real libswarmpod.so through its C ABI, against
// swarmpod-emulator running as a process on loopback.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "integration/abi_session.hpp"
#include "integration/emulator_process.hpp"

namespace {

using swarmpod::testing::Backend;
using swarmpod::testing::Collector;
using swarmpod::testing::EmulatorProcess;
using swarmpod::testing::emulator_config;
using swarmpod::testing::generate;
using swarmpod::testing::png_size;
using swarmpod::testing::ReceivedImage;
using nlohmann::json;

const std::vector<std::string> kFastEmulator = {"--cold-start-ms", "300", "--generation-ms", "50",
                                                 "--idle-timeout-ms", "1000"};

std::string read_case(const std::string& name) {
    std::ifstream file(std::string(SWARMPOD_CASES_DIR) + "/" + name);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

std::string small_request(int width, int height, int images = 1) {
    json request = json::parse(read_case("sdxl-basic.json"));
    request["width"] = width;
    request["height"] = height;
    request["images"] = images;
    return request.dump();
}

bool no_running_jobs_and_all_workers_stopped(const json& ledger) {
    if (ledger.value("running_jobs", -1) != 0 || ledger.value("queued_jobs", -1) != 0) return false;
    for (const auto& worker : ledger["workers"]) {
        if (worker.value("state", "") != "stopped") return false;
    }
    return true;
}

TEST(Generate, ReturnsPngOfRequestedSize) {
    EmulatorProcess emulator(kFastEmulator);
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 0"));
    Collector collector;

    auto outcome = generate(backend.get(), small_request(256, 192), "test-key", collector);

    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    ASSERT_EQ(collector.images.size(), 1u);
    const auto& image = collector.images[0];
    EXPECT_EQ(image.mime, "image/png");
    EXPECT_EQ(image.width, 256);
    EXPECT_EQ(image.height, 192);
    EXPECT_EQ(png_size(image.bytes), std::make_pair(256, 192));
    EXPECT_EQ(outcome.summary.value("status", ""), "ok");
    EXPECT_FALSE(outcome.summary.value("worker_id", "").empty());
    EXPECT_TRUE(outcome.summary.value("released", false));
}

// The emulator's ledger names each image it sent by this hash of its bytes.
std::string fnv1a64(const std::vector<uint8_t>& bytes) {
    uint64_t hash = 0xcbf29ce484222325ull;
    for (uint8_t byte : bytes) {
        hash ^= byte;
        hash *= 0x100000001b3ull;
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
    return hex;
}

TEST(Generate, ImageBytesMatchWhatEmulatorMade) {
    EmulatorProcess emulator(kFastEmulator);
    Backend backend(emulator_config(emulator));
    Collector collector;

    auto outcome = generate(backend.get(), small_request(128, 128), "test-key", collector);
    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    ASSERT_EQ(collector.images.size(), 1u);

    const json ledger = emulator.ledger();
    ASSERT_FALSE(ledger["images"].empty());
    EXPECT_EQ(ledger["images"].back().value("fnv1a64", ""), fnv1a64(collector.images[0].bytes))
        << ledger["images"].dump() << " received " << collector.images[0].bytes.size();
}

// Over HTTP, data URLs of 64 KiB and more are read in place from the reply text instead
// of being parsed. They are 147 KiB here, because noise does not compress. Every image must
// still arrive whole, under its own batch index.
TEST(Generate, HttpFallbackLargeImagesMatchWhatEmulatorMade) {
    std::vector<std::string> args = kFastEmulator;
    args.push_back("--image-noise");
    EmulatorProcess emulator(args);
    Backend backend(emulator_config(emulator, "\"UseWebSocket\": false"));
    Collector collector;

    auto outcome = generate(backend.get(), small_request(192, 192, 3), "test-key", collector);
    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    ASSERT_EQ(collector.images.size(), 3u);

    const json ledger = emulator.ledger();
    ASSERT_EQ(ledger["images"].size(), 3u) << ledger["images"].dump();
    for (const ReceivedImage& image : collector.images) {
        EXPECT_GT(image.bytes.size(), 64u * 1024u);
        bool found = false;
        for (const json& sent : ledger["images"]) {
            if (sent.value("batch_index", -1) == image.batch_index) {
                found = true;
                EXPECT_EQ(sent.value("fnv1a64", ""), fnv1a64(image.bytes)) << "batch index " << image.batch_index;
            }
        }
        EXPECT_TRUE(found) << "batch index " << image.batch_index;
    }
}

TEST(Generate, ProgressPhasesRiseToDone) {
    EmulatorProcess emulator(kFastEmulator);
    Backend backend(emulator_config(emulator));
    Collector collector;

    auto outcome = generate(backend.get(), small_request(64, 64), "test-key", collector);
    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    ASSERT_FALSE(collector.progress.empty());
    int last_phase = -1;
    for (const auto& event : collector.progress) {
        EXPECT_GE(event.phase, last_phase) << event.message;
        last_phase = event.phase;
        EXPECT_FALSE(json::parse(event.json, nullptr, false).is_discarded()) << event.json;
    }
    EXPECT_EQ(collector.progress.front().phase, SWARMPOD_PHASE_QUEUED);
    EXPECT_EQ(collector.progress.back().phase, SWARMPOD_PHASE_DONE);
}

TEST(Generate, KeepaliveCancelledAndWorkerStopped) {
    EmulatorProcess emulator(kFastEmulator);
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 0"));
    Collector collector;

    auto outcome = generate(backend.get(), small_request(64, 64), "test-key", collector);
    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;

    const json ledger = emulator.wait_for_ledger(no_running_jobs_and_all_workers_stopped, 5000);
    EXPECT_EQ(ledger.value("running_jobs", -1), 0);
    EXPECT_EQ(ledger.value("live_workers", -1), 0);
    const std::string keepalive_id = outcome.summary["jobs"].value("keepalive", "");
    bool found = false;
    for (const auto& job : ledger["jobs"]) {
        if (job.value("id", "") == keepalive_id) {
            found = true;
            EXPECT_EQ(job.value("status", ""), "CANCELLED");
        }
    }
    EXPECT_TRUE(found) << "keepalive job " << keepalive_id << " missing from the ledger";
}

TEST(Generate, WrongKeyGivesAuthError) {
    EmulatorProcess emulator(kFastEmulator);
    Backend backend(emulator_config(emulator));
    Collector collector;
    const char* wrong_key = "rpa_WRONGKEY_0123456789abcdef";

    auto outcome = generate(backend.get(), small_request(64, 64), wrong_key, collector);

    EXPECT_EQ(outcome.status, SWARMPOD_E_AUTH);
    EXPECT_NE(outcome.message.find("test-endpoint"), std::string::npos) << outcome.message;
    EXPECT_EQ(outcome.message.find(wrong_key), std::string::npos) << outcome.message;
    EXPECT_EQ(outcome.summary.dump().find(wrong_key), std::string::npos);
    EXPECT_TRUE(collector.images.empty());
}

TEST(Generate, UnknownEndpointGivesNotFound) {
    EmulatorProcess emulator(kFastEmulator);
    Backend backend("{\"EndpointId\": \"no-such-endpoint\", \"ApiBaseUrl\": \"" + emulator.api_base() +
                    "\", \"AllowInsecureWorkerUrls\": true}");
    Collector collector;

    auto outcome = generate(backend.get(), small_request(64, 64), "test-key", collector);

    EXPECT_EQ(outcome.status, SWARMPOD_E_NOT_FOUND);
    EXPECT_NE(outcome.message.find("no-such-endpoint"), std::string::npos) << outcome.message;
}

TEST(Generate, MissingKeyGivesNoApiKey) {
    EmulatorProcess emulator(kFastEmulator);
    Backend backend(emulator_config(emulator));
    Collector collector;

    auto outcome = generate(backend.get(), small_request(64, 64), nullptr, collector);

    EXPECT_EQ(outcome.status, SWARMPOD_E_NO_API_KEY);
    EXPECT_NE(outcome.message.find("API Keys"), std::string::npos) << outcome.message;
    EXPECT_TRUE(emulator.ledger()["jobs"].empty());
}

TEST(Generate, BackendKeyUsedBeforeCallKey) {
    EmulatorProcess emulator(kFastEmulator);
    Backend backend(emulator_config(emulator, "\"RunPodApiKey\": \"test-key\""));
    Collector collector;

    auto outcome = generate(backend.get(), small_request(64, 64), "some-other-users-key", collector);

    EXPECT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
}

TEST(Generate, UnreachableApiBaseGivesNetworkError) {
    const int port = swarmpod::testing::closed_loopback_port();
    Backend backend("{\"EndpointId\": \"test-endpoint\", \"ApiBaseUrl\": \"http://127.0.0.1:" + std::to_string(port) +
                    "/v2\", \"StartupTimeoutSec\": 5}");
    Collector collector;

    auto outcome = generate(backend.get(), small_request(64, 64), "test-key", collector);

    EXPECT_EQ(outcome.status, SWARMPOD_E_NETWORK);
    EXPECT_NE(outcome.message.find("127.0.0.1"), std::string::npos) << outcome.message;
    EXPECT_NE(outcome.message.find("could not be reached"), std::string::npos) << outcome.message;
    EXPECT_NE(outcome.message.find("ApiBaseUrl"), std::string::npos) << outcome.message;
}

// The emulator's root returns 404 for every queue route, as a server that is not RunPod's
// queue API would; the error must name the base URL, not the endpoint id.
TEST(Generate, ApiBaseWithoutV2GivesBadResponse) {
    EmulatorProcess emulator(kFastEmulator);
    Backend backend("{\"EndpointId\": \"test-endpoint\", \"ApiBaseUrl\": \"" + emulator.base_url() +
                    "\", \"AllowInsecureWorkerUrls\": true}");
    Collector collector;

    auto outcome = generate(backend.get(), small_request(64, 64), "test-key", collector);

    EXPECT_EQ(outcome.status, SWARMPOD_E_BAD_RESPONSE) << outcome.message;
    EXPECT_NE(outcome.message.find("'" + emulator.base_url() + "' is not a RunPod Serverless API"), std::string::npos)
        << outcome.message;
    EXPECT_TRUE(emulator.ledger()["jobs"].empty()) << emulator.ledger().dump();
}

TEST(Generate, WorkerUrlOutsideAllowListRejected) {
    std::vector<std::string> args = kFastEmulator;
    args.insert(args.end(), {"--report-url", "http://169.254.169.254/latest"});
    EmulatorProcess emulator(args);
    Backend backend(emulator_config(emulator));
    Collector collector;

    auto outcome = generate(backend.get(), small_request(64, 64), "test-key", collector);

    EXPECT_EQ(outcome.status, SWARMPOD_E_WORKER_URL_REJECTED);
    EXPECT_NE(outcome.message.find("169.254.169.254"), std::string::npos) << outcome.message;
    const json ledger = emulator.wait_for_ledger(no_running_jobs_and_all_workers_stopped, 5000);
    EXPECT_EQ(ledger.value("running_jobs", -1), 0);
    for (const auto& job : ledger["jobs"]) {
        EXPECT_NE(job.value("action", ""), "keepalive") << "a keepalive was started for a rejected worker";
    }
}

TEST(Generate, LoopbackWorkerRejectedWithoutInsecureOption) {
    EmulatorProcess emulator(kFastEmulator);
    Backend backend("{\"EndpointId\": \"test-endpoint\", \"ApiBaseUrl\": \"" + emulator.api_base() + "\"}");
    Collector collector;

    auto outcome = generate(backend.get(), small_request(64, 64), "test-key", collector);

    EXPECT_EQ(outcome.status, SWARMPOD_E_WORKER_URL_REJECTED);
    EXPECT_NE(outcome.message.find("AllowInsecureWorkerUrls"), std::string::npos) << outcome.message;
}

TEST(Generate, CancelDuringColdStartEndsQuickly) {
    EmulatorProcess emulator({"--cold-start-ms", "5000", "--generation-ms", "50", "--idle-timeout-ms", "1000"});
    Backend backend(emulator_config(emulator));
    Collector collector;
    swarmpod_generation* generation = nullptr;
    ASSERT_EQ(swarmpod_generation_new(&generation), SWARMPOD_OK);

    std::thread canceller([generation] {
        std::this_thread::sleep_for(std::chrono::milliseconds(800));
        swarmpod_generation_cancel(generation);
    });
    const auto started = std::chrono::steady_clock::now();
    auto outcome = generate(backend.get(), small_request(64, 64), "test-key", collector, generation);
    const auto elapsed = std::chrono::steady_clock::now() - started;
    canceller.join();
    swarmpod_generation_free(generation);

    EXPECT_EQ(outcome.status, SWARMPOD_E_CANCELLED) << outcome.message;
    EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), 1800);
    const json ledger = emulator.wait_for_ledger(
        [](const json& l) { return l.value("running_jobs", -1) == 0 && l.value("queued_jobs", -1) == 0; }, 3000);
    EXPECT_EQ(ledger.value("running_jobs", -1), 0);
    EXPECT_EQ(ledger.value("queued_jobs", -1), 0);
}

TEST(Generate, InvalidRequestJsonRejected) {
    EmulatorProcess emulator(kFastEmulator);
    Backend backend(emulator_config(emulator));
    Collector collector;

    auto outcome = generate(backend.get(), "{not json", "test-key", collector);

    EXPECT_EQ(outcome.status, SWARMPOD_E_INVALID_ARGUMENT);
    EXPECT_TRUE(emulator.ledger()["jobs"].empty());
}

TEST(Generate, BadImagesCountNamed) {
    EmulatorProcess emulator(kFastEmulator);
    Backend backend(emulator_config(emulator));
    Collector collector;

    auto outcome = generate(backend.get(), "{\"prompt\": \"x\", \"images\": 0}", "test-key", collector);

    EXPECT_EQ(outcome.status, SWARMPOD_E_INVALID_ARGUMENT);
    EXPECT_NE(outcome.message.find("images"), std::string::npos) << outcome.message;
}

TEST(Generate, BadBatchSizeNamed) {
    EmulatorProcess emulator(kFastEmulator);
    Backend backend(emulator_config(emulator));
    for (const char* value : {"0", "-1", "101", "2.5", "\"two\"", "\"\"", "null", "\"99999999999999999999\""}) {
        Collector collector;
        const std::string request = std::string("{\"prompt\": \"x\", \"images\": 1, \"batchsize\": ") + value + "}";

        auto outcome = generate(backend.get(), request, "test-key", collector);

        EXPECT_EQ(outcome.status, SWARMPOD_E_INVALID_ARGUMENT) << value;
        EXPECT_NE(outcome.message.find("'batchsize'"), std::string::npos) << value << ": " << outcome.message;
    }
    EXPECT_TRUE(emulator.ledger()["jobs"].empty());
}

TEST(Generate, NonStringModelNamed) {
    EmulatorProcess emulator(kFastEmulator);
    Backend backend(emulator_config(emulator));
    for (const char* value : {"7", "[\"a\"]", "{\"name\": \"a\"}", "true"}) {
        Collector collector;
        const std::string request = std::string("{\"prompt\": \"x\", \"model\": ") + value + "}";

        auto outcome = generate(backend.get(), request, "test-key", collector);

        EXPECT_EQ(outcome.status, SWARMPOD_E_INVALID_ARGUMENT) << value;
        EXPECT_NE(outcome.message.find("'model'"), std::string::npos) << value << ": " << outcome.message;
    }
    EXPECT_TRUE(emulator.ledger()["jobs"].empty());
}

TEST(Generate, ImagesTimesBatchSizeBounded) {
    EmulatorProcess emulator(kFastEmulator);
    Backend backend(emulator_config(emulator));
    Collector collector;

    auto outcome = generate(backend.get(), "{\"prompt\": \"x\", \"images\": 11, \"batchsize\": \"10\"}", "test-key",
                            collector);

    EXPECT_EQ(outcome.status, SWARMPOD_E_INVALID_ARGUMENT);
    EXPECT_NE(outcome.message.find("110 images"), std::string::npos) << outcome.message;
    EXPECT_NE(outcome.message.find("'batchsize'"), std::string::npos) << outcome.message;
    EXPECT_TRUE(emulator.ledger()["jobs"].empty());
}

TEST(Generate, EveryCaseRequestSucceeds) {
    std::vector<std::string> args = kFastEmulator;
    args.insert(args.end(), {"--models-file", SWARMPOD_TEST_DATA_DIR "/models.json"});
    EmulatorProcess emulator(args);
    Backend backend(emulator_config(emulator));
    for (const char* name : {"sdxl-basic.json", "flux-batch.json", "lora-unicode.json", "img2img-initimage.json"}) {
        json request = json::parse(read_case(name));
        // Keep the images small so the test stays fast; every other field stays as SwarmUI sent it.
        request["width"] = 64;
        request["height"] = 64;
        Collector collector;
        auto outcome = generate(backend.get(), request.dump(), "test-key", collector);
        EXPECT_EQ(outcome.status, SWARMPOD_OK) << name << ": " << outcome.message;
        const std::size_t expected = static_cast<std::size_t>(request.value("images", 1)) *
                                     static_cast<std::size_t>(request.value("batchsize", 1));
        EXPECT_EQ(collector.images.size(), expected) << name;
    }
}

}  // namespace
