// The API key never leaves the library or the CLI: not in a log line at trace level,
// an error message, the result JSON, or the CLI's stdout and stderr. The emulator is
// started with the key as its expected key, so a passing generation proves the key
// was sent where it belongs.
//
// NOTE: the emulator's fault rules reply with fixed texts and cannot echo a request
// header back in a 500 body. The key reaches the library from outside through the two
// paths the emulator offers: a worker error that quotes the request's model name, and
// a reported worker URL.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "integration/abi_session.hpp"
#include "integration/child_process.hpp"
#include "integration/emulator_process.hpp"

namespace {

using nlohmann::json;
using swarmpod::testing::Backend;
using swarmpod::testing::Collector;
using swarmpod::testing::EmulatorProcess;
using swarmpod::testing::emulator_config;
using swarmpod::testing::generate;
using swarmpod::testing::run_process;

constexpr const char* kKey = "rpa_SECRETKEY_0123456789abcdef";

// Every log line the library sends at trace level, for the life of one test.
class TraceLog {
public:
    TraceLog() { EXPECT_EQ(swarmpod_set_log_callback(&TraceLog::record, this, SWARMPOD_LOG_TRACE), SWARMPOD_OK); }
    ~TraceLog() { swarmpod_set_log_callback(nullptr, nullptr, SWARMPOD_LOG_OFF); }

    std::vector<std::string> lines() {
        std::lock_guard<std::mutex> lock(mutex_);
        return lines_;
    }

private:
    static void SWARMPOD_CALL record(void* user_data, int32_t, const char* message) {
        auto* self = static_cast<TraceLog*>(user_data);
        std::lock_guard<std::mutex> lock(self->mutex_);
        self->lines_.emplace_back(message);
    }

    std::mutex mutex_;
    std::vector<std::string> lines_;
};

std::vector<std::string> emulator_args(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--api-key", kKey, "--cold-start-ms", "300", "--generation-ms", "50",
                                     "--idle-timeout-ms", "1000"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

std::string request_with_model(const std::string& model) {
    json request = {{"prompt", "a lighthouse"}, {"images", 1}, {"width", 64}, {"height", 64}, {"seed", 1}};
    if (!model.empty()) request["model"] = model;
    return request.dump();
}

void expect_no_key_in(const std::vector<std::string>& lines) {
    ASSERT_FALSE(lines.empty()) << "no log line arrived, so the check below proves nothing";
    for (const auto& line : lines) EXPECT_EQ(line.find(kKey), std::string::npos) << "key in log line: " << line;
}

// A fault file for the emulator: one 500 and one 429 on /status, which the library
// retries, so error paths and retry logs run during a generation that still succeeds.
std::string write_fault_file() {
    const std::string path = ::testing::TempDir() + "swarmpod-secret-faults.json";
    std::ofstream(path) << R"([{"route": "status", "kind": "status", "status": 500, "count": 1},
        {"route": "status", "kind": "status", "status": 429, "retry_after": "1", "count": 1},
        {"route": "health", "kind": "status", "status": 503, "html": true, "count": 1}])";
    return path;
}

TEST(Secrets, TraceGenerationWithFaultsHidesKey) {
    EmulatorProcess emulator(emulator_args({"--faults", write_fault_file()}));
    Backend backend(emulator_config(emulator));
    TraceLog log;
    Collector collector;

    auto outcome = generate(backend.get(), request_with_model(""), kKey, collector);

    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    EXPECT_EQ(collector.images.size(), 1u);
    EXPECT_EQ(outcome.summary.dump().find(kKey), std::string::npos) << outcome.summary.dump();
    const auto lines = log.lines();
    expect_no_key_in(lines);
    bool saw_retry = false;
    for (const auto& line : lines) saw_retry = saw_retry || line.find("500") != std::string::npos;
    EXPECT_TRUE(saw_retry) << "the injected 500 left no log line; the fault did not fire";
}

TEST(Secrets, BackendKeyHiddenAtTrace) {
    EmulatorProcess emulator(emulator_args());
    Backend backend(emulator_config(emulator, std::string("\"RunPodApiKey\": \"") + kKey + "\""));
    TraceLog log;
    Collector collector;

    auto outcome = generate(backend.get(), request_with_model(""), nullptr, collector);

    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    EXPECT_EQ(outcome.summary.dump().find(kKey), std::string::npos);
    expect_no_key_in(log.lines());
}

TEST(Secrets, WorkerErrorQuotingKeyRedacted) {
    EmulatorProcess emulator(emulator_args());
    Backend backend(emulator_config(emulator));
    TraceLog log;
    Collector collector;

    // The emulator's SwarmUI quotes an unknown model name in its error text.
    auto outcome = generate(backend.get(), request_with_model(kKey), kKey, collector);

    ASSERT_EQ(outcome.status, SWARMPOD_E_WORKER) << outcome.message;
    EXPECT_NE(outcome.message.find("Invalid model"), std::string::npos) << outcome.message;
    EXPECT_EQ(outcome.message.find(kKey), std::string::npos) << outcome.message;
    EXPECT_NE(outcome.message.find("***"), std::string::npos) << outcome.message;
    EXPECT_EQ(outcome.summary.dump().find(kKey), std::string::npos) << outcome.summary.dump();
    expect_no_key_in(log.lines());
}

TEST(Secrets, ReportedUrlWithKeyRedacted) {
    // Rejected before anything is sent to it: it has a query.
    EmulatorProcess emulator(emulator_args({"--report-url", std::string("http://127.0.0.1:9/?key=") + kKey}));
    Backend backend(emulator_config(emulator));
    TraceLog log;
    Collector collector;

    auto outcome = generate(backend.get(), request_with_model(""), kKey, collector);

    ASSERT_EQ(outcome.status, SWARMPOD_E_WORKER_URL_REJECTED) << outcome.message;
    EXPECT_EQ(outcome.message.find(kKey), std::string::npos) << outcome.message;
    EXPECT_EQ(outcome.summary.dump().find(kKey), std::string::npos) << outcome.summary.dump();
    expect_no_key_in(log.lines());
}

TEST(Secrets, HealthErrorHidesKey) {
    EmulatorProcess emulator(emulator_args({"--faults", write_fault_file()}));
    Backend backend(emulator_config(emulator, "\"StartupTimeoutSec\": 5"));
    TraceLog log;
    char* health = nullptr;

    const int32_t status = swarmpod_endpoint_health(backend.get(), kKey, &health);
    const std::string message = swarmpod_last_error_message();

    ASSERT_EQ(status, SWARMPOD_OK) << message;
    ASSERT_NE(health, nullptr);
    EXPECT_EQ(std::string(health).find(kKey), std::string::npos) << health;
    swarmpod_string_free(health);
    expect_no_key_in(log.lines());
}

class SecretsCli : public ::testing::Test {
protected:
    void SetUp() override {
        directory_ = ::testing::TempDir() + "swarmpod-secrets-cli-" + std::to_string(::getpid());
        std::filesystem::create_directories(directory_);
    }
    void TearDown() override { std::filesystem::remove_all(directory_); }

    std::vector<std::string> cli_args(const EmulatorProcess& emulator, const std::string& model) const {
        std::vector<std::string> args = {SWARMPOD_CLI_PATH, "generate", "--endpoint", "test-endpoint",
                                         "--api-base", emulator.api_base(), "--allow-insecure-worker-urls",
                                         "--prompt", "a lighthouse", "--width", "64", "--height", "64",
                                         "--out", directory_ + "/image.png", "--log-level", "trace",
                                         "--poll-interval-ms", "200"};
        if (!model.empty()) args.insert(args.end(), {"--model", model});
        return args;
    }

    std::string directory_;
};

TEST_F(SecretsCli, EnvironmentKeyNeverPrinted) {
    EmulatorProcess emulator(emulator_args({"--faults", write_fault_file()}));

    auto result = run_process(cli_args(emulator, ""), {std::string("RUNPOD_API_KEY=") + kKey});

    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_TRUE(std::filesystem::exists(directory_ + "/image.png")) << result.err;
    EXPECT_NE(result.err.find("trace:"), std::string::npos) << "no trace line was printed: " << result.err;
    EXPECT_EQ(result.out.find(kKey), std::string::npos) << result.out;
    EXPECT_EQ(result.err.find(kKey), std::string::npos) << result.err;
}

TEST_F(SecretsCli, FlagKeyNeverPrintedInJsonFailure) {
    EmulatorProcess emulator(emulator_args());
    auto args = cli_args(emulator, kKey);
    args.insert(args.end(), {"--api-key", kKey, "--json"});

    auto result = run_process(args, {}, {"RUNPOD_API_KEY"});

    EXPECT_EQ(result.exit_code, 1) << result.err;
    const json output = json::parse(result.out, nullptr, false);
    ASSERT_FALSE(output.is_discarded()) << result.out;
    EXPECT_EQ(output.value("status", ""), "worker") << result.out;
    EXPECT_EQ(result.out.find(kKey), std::string::npos) << result.out;
    EXPECT_EQ(result.err.find(kKey), std::string::npos) << result.err;
}

}  // namespace

namespace {

// A config error quotes the value at fault. When the user pasted the API key into the
// wrong field, that value is the key, so it is masked like everywhere else.
TEST(Secrets, ConfigErrorHidesKeyInWrongField) {
    const std::string key = "rpa_CONFIG_SECRET_0123456789";
    for (const char* field : {"ApiBaseUrl", "WorkerProtocol", "CaBundle"}) {
        const std::string config = std::string("{\"EndpointId\": \"abc\", \"RunPodApiKey\": \"") + key + "\", \"" +
                                   field + "\": \"" + key + "\"}";
        swarmpod_backend* backend = nullptr;

        const int32_t status = swarmpod_backend_new(config.c_str(), &backend);

        EXPECT_EQ(status, SWARMPOD_E_INVALID_CONFIG) << field;
        const std::string message = swarmpod_last_error_message();
        EXPECT_EQ(message.find(key), std::string::npos) << message;
        EXPECT_NE(message.find(field), std::string::npos) << message;
        swarmpod_backend_free(backend);
    }
}

}  // namespace
