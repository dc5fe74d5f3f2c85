// The swarmpod CLI on bad input: a wrong or unreachable API base, an unknown endpoint,
// text that is not UTF-8, an empty API key and out-of-range timeouts. Each gives one
// error line that names the value and the fix, and starts no RunPod job.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "integration/child_process.hpp"
#include "integration/emulator_process.hpp"

namespace {

using nlohmann::json;
using swarmpod::testing::EmulatorProcess;
using swarmpod::testing::lines_of;
using swarmpod::testing::ProcessResult;
using swarmpod::testing::run_process;

constexpr const char* kKey = "rpa_BADINPUT_0123456789abcdef";

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Returns the last stderr line, which is the CLI's one error line on failure.
std::string error_line(const ProcessResult& result) {
    const auto lines = lines_of(result.err);
    return lines.empty() ? std::string() : lines.back();
}

std::vector<std::string> generate_args(const std::string& api_base, const std::string& endpoint = "test-endpoint") {
    return {SWARMPOD_CLI_PATH, "generate", "--endpoint", endpoint, "--api-base", api_base,
            "--allow-insecure-worker-urls", "--prompt", "a red fox", "--poll-interval-ms", "200", "--quiet"};
}

bool no_jobs(const json& ledger) { return ledger["jobs"].empty(); }

class CliBadInput : public ::testing::Test {
protected:
    void SetUp() override {
        directory_ = ::testing::TempDir() + "swarmpod-cli-bad-input-" + std::to_string(::getpid());
        std::filesystem::create_directories(directory_);
    }
    void TearDown() override { std::filesystem::remove_all(directory_); }

    std::string write_file(const std::string& name, const std::string& content) const {
        const std::string path = directory_ + "/" + name;
        std::ofstream file(path, std::ios::binary);
        file << content;
        return path;
    }

    std::string directory_;
};

TEST_F(CliBadInput, ApiBaseWithWrongPathIsNamed) {
    EmulatorProcess emulator({"--api-key", kKey});

    for (const std::string& base : {emulator.base_url(), emulator.base_url() + "/wrong"}) {
        auto args = generate_args(base);
        args.insert(args.end(), {"--api-key", kKey});
        const ProcessResult result = run_process(args, {}, {"RUNPOD_API_KEY"});
        const std::string line = error_line(result);

        EXPECT_EQ(result.exit_code, 1) << base << ": " << result.err;
        EXPECT_TRUE(contains(line, "The RunPod API base URL '" + base + "' is not a RunPod Serverless API"))
            << line;
        EXPECT_TRUE(contains(line, "https://api.runpod.ai/v2")) << line;
        EXPECT_TRUE(contains(line, "(--api-base sets ApiBaseUrl)")) << line;
        EXPECT_FALSE(contains(line, "was not found")) << line;
        EXPECT_FALSE(contains(result.err, kKey)) << result.err;
    }
    EXPECT_TRUE(no_jobs(emulator.ledger())) << emulator.ledger().dump();
}

TEST_F(CliBadInput, UnreachableApiBaseIsNamed) {
    const std::string base = "http://127.0.0.1:" + std::to_string(swarmpod::testing::closed_loopback_port()) + "/v2";
    // A short startup timeout ends the library's retries of the refused connection early.
    auto args = generate_args(base);
    args.insert(args.end(), {"--startup-timeout", "2", "--json"});

    const ProcessResult result = run_process(args, {std::string("RUNPOD_API_KEY=") + kKey});
    const std::string line = error_line(result);

    EXPECT_EQ(result.exit_code, 1) << result.err;
    EXPECT_TRUE(contains(line, "The RunPod API base URL '" + base + "' could not be reached")) << line;
    EXPECT_TRUE(contains(line, "(--api-base sets ApiBaseUrl)")) << line;
    EXPECT_FALSE(contains(line, "not found")) << line;
    const json output = json::parse(result.out, nullptr, false);
    ASSERT_FALSE(output.is_discarded()) << result.out;
    EXPECT_EQ(output.value("status", ""), "network") << result.out;
    EXPECT_FALSE(contains(result.out + result.err, kKey));
}

TEST_F(CliBadInput, UnknownEndpointSaysNotFound) {
    EmulatorProcess emulator({"--api-key", kKey});

    const ProcessResult result = run_process(generate_args(emulator.api_base(), "no-such-endpoint"),
                                             {std::string("RUNPOD_API_KEY=") + kKey});
    const std::string line = error_line(result);

    EXPECT_EQ(result.exit_code, 4) << result.err;
    EXPECT_TRUE(contains(line, "RunPod endpoint 'no-such-endpoint' was not found")) << line;
    EXPECT_TRUE(contains(line, "check the Endpoint ID")) << line;
    EXPECT_FALSE(contains(line, "API base")) << line;
    EXPECT_TRUE(no_jobs(emulator.ledger())) << emulator.ledger().dump();
}

TEST_F(CliBadInput, InvalidUtf8NamesSource) {
    const std::string bad_text = "a \xff fox";
    const std::string bad_file = write_file("bad.json", "{\"prompt\": \"" + bad_text + "\"}");
    const std::vector<std::string> base = {SWARMPOD_CLI_PATH, "generate", "--endpoint", "e",
                                           "--api-base", "http://127.0.0.1:9/v2"};
    struct Case {
        std::vector<std::string> extra;
        std::vector<std::string> environment;
        std::string source;
    };
    const std::vector<Case> cases = {
        {{"--prompt", bad_text}, {}, "invalid --prompt"},
        {{"--prompt", "x", "--negative", bad_text}, {}, "invalid --negative"},
        {{"--prompt", "x", "--model", bad_text}, {}, "invalid --model"},
        {{"--prompt", "x", "--set", "sampler=" + bad_text}, {}, "invalid --set"},
        {{"--prompt", "x", "--api-key", std::string(kKey) + "\xfe"}, {}, "invalid --api-key"},
        {{"--prompt", "x"}, {std::string("RUNPOD_API_KEY=") + kKey + "\xfe"}, "invalid environment variable RUNPOD_API_KEY"},
        {{"--request-json", bad_file}, {}, "--request-json file '" + bad_file + "' is not valid UTF-8"},
        // An overlong '/', a UTF-16 surrogate, a code point above U+10FFFF, a cut-off sequence.
        {{"--prompt", "a \xc0\xaf"}, {}, "invalid --prompt"},
        {{"--prompt", "a \xed\xa0\x80"}, {}, "invalid --prompt"},
        {{"--prompt", "a \xf4\x90\x80\x80"}, {}, "invalid --prompt"},
        {{"--prompt", "a \xe2\x82"}, {}, "invalid --prompt"},
    };

    for (const Case& test_case : cases) {
        auto args = base;
        args.insert(args.end(), test_case.extra.begin(), test_case.extra.end());
        std::vector<std::string> environment = test_case.environment;
        if (environment.empty()) environment.push_back("RUNPOD_API_KEY=test-key");

        const ProcessResult result = run_process(args, environment);
        const std::string line = error_line(result);

        EXPECT_EQ(result.exit_code, 2) << test_case.source << ": " << result.err;
        EXPECT_EQ(lines_of(result.err).size(), 1u) << test_case.source << ": " << result.err;
        EXPECT_TRUE(contains(line, test_case.source)) << line;
        EXPECT_TRUE(contains(line, "UTF-8")) << line;
        EXPECT_FALSE(contains(line, "json.exception")) << line;
        EXPECT_FALSE(contains(result.err, kKey)) << result.err;
    }
}

TEST_F(CliBadInput, ValidUtf8IsAccepted) {
    // Two-, three- and four-byte characters; the later --protocol error shows that the
    // prompt itself passed.
    const ProcessResult result = run_process({SWARMPOD_CLI_PATH, "generate", "--endpoint", "e", "--prompt",
                                              "f\xc3\xbc\x63hse \xe2\x82\xac \xf0\x9f\xa6\x8a", "--protocol", "v3"});

    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_TRUE(contains(error_line(result), "for --protocol")) << result.err;
}

TEST_F(CliBadInput, EmptyApiKeyIsNamed) {
    const std::vector<std::string> args = {SWARMPOD_CLI_PATH, "generate", "--endpoint", "e", "--api-base",
                                           "http://127.0.0.1:9/v2", "--prompt", "x", "--api-key", ""};
    const ProcessResult flag = run_process(args, {}, {"RUNPOD_API_KEY"});

    EXPECT_EQ(flag.exit_code, 2) << flag.err;
    EXPECT_EQ(error_line(flag).rfind("swarmpod: error: --api-key is empty", 0), 0u) << flag.err;
    EXPECT_TRUE(contains(error_line(flag), "RUNPOD_API_KEY")) << flag.err;

    const std::string config = write_file("config.json", R"({"RunPodApiKey": ""})");
    const std::vector<std::string> config_args = {SWARMPOD_CLI_PATH, "health", "--endpoint", "e", "--api-base",
                                                  "http://127.0.0.1:9/v2", "--config", config};
    const ProcessResult stored = run_process(config_args, {}, {"RUNPOD_API_KEY"});

    EXPECT_EQ(stored.exit_code, 3) << stored.err;
    EXPECT_TRUE(contains(error_line(stored), "RunPodApiKey in the --config file is empty")) << stored.err;
    EXPECT_TRUE(contains(error_line(stored), "--api-key")) << stored.err;
}

TEST_F(CliBadInput, ProtocolListsAcceptedValues) {
    const ProcessResult result =
        run_process({SWARMPOD_CLI_PATH, "generate", "--endpoint", "e", "--prompt", "x", "--protocol", "v3"});

    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_TRUE(contains(error_line(result), "invalid value 'v3' for --protocol")) << result.err;
    EXPECT_TRUE(contains(error_line(result), "expected auto, v1 or v2")) << result.err;
}

TEST_F(CliBadInput, ProtocolMismatchNamesFlag) {
    EmulatorProcess emulator({"--api-key", kKey, "--cold-start-ms", "100"});  // v1 workers
    auto args = generate_args(emulator.api_base());
    args.insert(args.end(), {"--protocol", "v2"});

    const ProcessResult result = run_process(args, {std::string("RUNPOD_API_KEY=") + kKey});
    const std::string line = error_line(result);

    EXPECT_EQ(result.exit_code, 1) << result.err;
    EXPECT_TRUE(contains(line, "Set WorkerProtocol")) << line;
    EXPECT_TRUE(contains(line, "(--protocol sets WorkerProtocol)")) << line;
}

// The CLI checks the timeout flags against the ranges the library accepts, so both ends
// must pass the library and one step beyond must be a usage error that gives the range.
TEST_F(CliBadInput, TimeoutRangesMatchLibrary) {
    struct Flag {
        std::string name;
        int64_t min;
        int64_t max;
    };
    const std::vector<Flag> flags = {
        {"--startup-timeout", 1, 3600},
        {"--generation-timeout", 1, 86400},
        {"--poll-interval-ms", 50, 60000},
        {"--keep-warm", 0, 3600},
    };
    // The emulator's root path is no RunPod API, so a config the library accepts fails
    // at once on /run with bad_response, and one it rejects fails with invalid_config.
    EmulatorProcess emulator({"--api-key", kKey});
    const std::vector<std::string> base = {SWARMPOD_CLI_PATH, "generate", "--endpoint", "test-endpoint",
                                           "--api-base", emulator.base_url(), "--prompt", "x", "--json", "--quiet"};

    for (const bool use_max : {false, true}) {
        auto args = base;
        for (const Flag& flag : flags) {
            args.insert(args.end(), {flag.name, std::to_string(use_max ? flag.max : flag.min)});
        }
        const ProcessResult result = run_process(args, {std::string("RUNPOD_API_KEY=") + kKey});
        const json output = json::parse(result.out, nullptr, false);

        ASSERT_FALSE(output.is_discarded()) << (use_max ? "max: " : "min: ") << result.out << result.err;
        EXPECT_EQ(output.value("status", ""), "bad_response") << (use_max ? "max: " : "min: ") << result.out;
    }

    for (const Flag& flag : flags) {
        for (const int64_t outside : {flag.min - 1, flag.max + 1}) {
            auto args = base;
            args.insert(args.end(), {flag.name, std::to_string(outside)});
            const ProcessResult result = run_process(args, {std::string("RUNPOD_API_KEY=") + kKey});
            const std::string range = "from " + std::to_string(flag.min) + " to " + std::to_string(flag.max);

            EXPECT_EQ(result.exit_code, 2) << flag.name << ' ' << outside << ": " << result.err;
            EXPECT_TRUE(contains(error_line(result), flag.name)) << result.err;
            EXPECT_TRUE(contains(error_line(result), range)) << result.err;
        }
    }
    EXPECT_TRUE(no_jobs(emulator.ledger())) << emulator.ledger().dump();
}

TEST_F(CliBadInput, HelpGivesTimeoutRanges) {
    const ProcessResult result = run_process({SWARMPOD_CLI_PATH, "generate", "--help"});

    EXPECT_EQ(result.exit_code, 0);
    for (const char* range : {"1 to 3600 (library default 120)", "1 to 86400 (library", "50 to 60000 (library",
                              "0 to 3600 (library default 5)"}) {
        EXPECT_TRUE(contains(result.out, range)) << range << " missing in:\n" << result.out;
    }
}

// A fresh endpoint has only scaled-down ("idle") workers, which RunPod must start before
// they serve, so the diagnosis must not call the endpoint ready.
TEST_F(CliBadInput, HealthIdleWorkersAreNotReady) {
    EmulatorProcess emulator({"--api-key", kKey, "--max-workers", "2"});

    const ProcessResult result =
        run_process({SWARMPOD_CLI_PATH, "health", "--endpoint", "test-endpoint", "--api-base", emulator.api_base(),
                     "--json", "--quiet"},
                    {std::string("RUNPOD_API_KEY=") + kKey});
    const json health = json::parse(result.out, nullptr, false);

    ASSERT_EQ(result.exit_code, 0) << result.err;
    ASSERT_FALSE(health.is_discarded()) << result.out;
    EXPECT_EQ(health["workers"].value("idle", -1), 2) << result.out;
    EXPECT_EQ(health["workers"].value("ready", -1), 0) << result.out;
    EXPECT_EQ(health.value("diagnosis", ""), "no_workers") << result.out;
    EXPECT_TRUE(contains(health.value("message", ""), "No worker is running")) << result.out;
    EXPECT_TRUE(contains(health.value("message", ""), "2 idle: scaled down")) << result.out;
}

}  // namespace
