// The swarmpod CLI binary as a user runs it: exit codes, the one-line usage error, a
// PNG on success against the emulator, and --json output that parses.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "integration/child_process.hpp"
#include "integration/emulator_process.hpp"

namespace {

using nlohmann::json;
using swarmpod::testing::EmulatorProcess;
using swarmpod::testing::lines_of;
using swarmpod::testing::run_process;

constexpr const char* kKey = "rpa_CLIKEY_0123456789abcdef";

class Cli : public ::testing::Test {
protected:
    void SetUp() override {
        directory_ = ::testing::TempDir() + "swarmpod-cli-" + std::to_string(::getpid());
        std::filesystem::create_directories(directory_);
    }
    void TearDown() override { std::filesystem::remove_all(directory_); }

    static std::vector<std::string> generate_args(const EmulatorProcess& emulator, const std::string& out) {
        return {SWARMPOD_CLI_PATH, "generate", "--endpoint", "test-endpoint", "--api-base", emulator.api_base(),
                "--allow-insecure-worker-urls", "--prompt", "a red fox", "--width", "96", "--height", "64",
                "--poll-interval-ms", "200", "--out", out};
    }

    static bool is_png(const std::string& path) {
        std::ifstream file(path, std::ios::binary);
        char signature[8] = {};
        file.read(signature, sizeof signature);
        return file.good() && std::string(signature, 8) == "\x89PNG\r\n\x1a\n";
    }

    std::string directory_;
};

TEST_F(Cli, UnknownFlagIsUsageError) {
    auto result = run_process({SWARMPOD_CLI_PATH, "generate", "--widht", "5"});

    EXPECT_EQ(result.exit_code, 2);
    EXPECT_TRUE(result.out.empty()) << result.out;
    const auto lines = lines_of(result.err);
    ASSERT_EQ(lines.size(), 1u) << result.err;
    EXPECT_EQ(lines[0].rfind("swarmpod: error: unknown option '--widht'", 0), 0u) << lines[0];
    EXPECT_NE(lines[0].find("--help"), std::string::npos) << lines[0];
}

TEST_F(Cli, BadValuesAreUsageErrors) {
    const std::vector<std::vector<std::string>> cases = {
        {SWARMPOD_CLI_PATH, "generate", "--endpoint", "e", "--prompt", "x", "--width", "abc"},
        {SWARMPOD_CLI_PATH, "generate", "--endpoint", "e", "--prompt", "x", "--images", "0"},
        {SWARMPOD_CLI_PATH, "generate", "--endpoint", "e", "--prompt", "x", "--width"},
        {SWARMPOD_CLI_PATH, "no-such-command"},
        {SWARMPOD_CLI_PATH, "generate", "--endpoint", "e", "--prompt", "x", "--log-level", "loud"},
    };
    for (const auto& args : cases) {
        auto result = run_process(args, {}, {"RUNPOD_API_KEY", "SWARMPOD_ENDPOINT"});
        EXPECT_EQ(result.exit_code, 2) << args.back() << ": " << result.err;
        EXPECT_EQ(lines_of(result.err).size(), 1u) << args.back() << ": " << result.err;
        EXPECT_EQ(result.err.rfind("swarmpod: error: ", 0), 0u) << result.err;
    }
}

TEST_F(Cli, MissingKeyExitsThree) {
    EmulatorProcess emulator({"--cold-start-ms", "300", "--generation-ms", "50"});

    auto result = run_process(generate_args(emulator, directory_ + "/fox.png"), {}, {"RUNPOD_API_KEY"});

    EXPECT_EQ(result.exit_code, 3) << result.err;
    const auto lines = lines_of(result.err);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines.back().rfind("swarmpod: error: ", 0), 0u) << result.err;
    EXPECT_TRUE(emulator.ledger()["jobs"].empty()) << "a job was submitted without a key";
}

TEST_F(Cli, GenerateWritesPng) {
    EmulatorProcess emulator({"--cold-start-ms", "300", "--generation-ms", "50", "--idle-timeout-ms", "1000"});
    const std::string out = directory_ + "/fox.png";

    auto result = run_process(generate_args(emulator, out), {"RUNPOD_API_KEY=test-key"});

    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_TRUE(is_png(out)) << result.err;
    EXPECT_NE(result.out.find("image written: " + out + " (96x64, image/png)"), std::string::npos) << result.out;
    const json ledger = emulator.wait_for_ledger([](const json& l) { return l.value("running_jobs", -1) == 0; });
    EXPECT_EQ(ledger.value("running_jobs", -1), 0) << "the CLI left a job running";
}

// A link planted where the old code put its temporary file (<out>.part) is not followed,
// and nothing is left beside the image.
TEST_F(Cli, PlantedLinkBesideOutIsNotFollowed) {
    EmulatorProcess emulator({"--cold-start-ms", "300", "--generation-ms", "50", "--idle-timeout-ms", "1000"});
    const std::string out = directory_ + "/fox.png";
    const std::string victim = directory_ + "/victim.txt";
    std::ofstream(victim) << "keep me";
    std::filesystem::create_symlink(victim, out + ".part");

    auto result = run_process(generate_args(emulator, out), {"RUNPOD_API_KEY=test-key"});

    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_TRUE(is_png(out)) << result.err;
    EXPECT_FALSE(std::filesystem::is_symlink(out));
    std::ifstream kept(victim);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(kept), {}), "keep me");
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(directory_)) {
        files += !entry.is_symlink() && entry.is_regular_file() ? 1 : 0;
    }
    EXPECT_EQ(files, 2) << "the image and the victim, no temporary file";
}

TEST_F(Cli, DeviceAsOutIsUsageError) {
    auto result = run_process({SWARMPOD_CLI_PATH, "generate", "--endpoint", "e", "--prompt", "x", "--out", "/dev/null"},
                              {"RUNPOD_API_KEY=test-key"});

    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_NE(result.err.find("--out '/dev/null' exists and is not a regular file"), std::string::npos) << result.err;
    EXPECT_TRUE(std::filesystem::is_character_file("/dev/null"));
}

TEST_F(Cli, JsonOutputParsesAndHidesKey) {
    EmulatorProcess emulator({"--api-key", kKey, "--cold-start-ms", "300", "--generation-ms", "50"});
    const std::string out = directory_ + "/fox.png";
    auto args = generate_args(emulator, out);
    args.insert(args.end(), {"--json", "--api-key", kKey, "--log-level", "trace"});

    auto result = run_process(args, {}, {"RUNPOD_API_KEY"});

    ASSERT_EQ(result.exit_code, 0) << result.err;
    const json output = json::parse(result.out, nullptr, false);
    ASSERT_FALSE(output.is_discarded()) << "stdout is not one JSON object: " << result.out;
    EXPECT_EQ(output.value("status", ""), "ok");
    ASSERT_TRUE(output["images"].is_array());
    ASSERT_EQ(output["images"].size(), 1u);
    EXPECT_EQ(output["images"][0].value("path", ""), out);
    EXPECT_EQ(output["images"][0].value("mime", ""), "image/png");
    EXPECT_EQ(output["images"][0].value("width", 0), 96);
    EXPECT_EQ(output["images"][0].value("height", 0), 64);
    EXPECT_FALSE(output.value("worker_id", "").empty()) << result.out;
    ASSERT_TRUE(output["timings"].is_object()) << result.out;
    EXPECT_GT(output["timings"].value("total_seconds", 0.0), 0.0) << result.out;
    // The billed GPU time, an estimate because RunPod's bill cannot be read through its API.
    EXPECT_GT(output.value("gpu_seconds", 0.0), 0.0) << result.out;
    EXPECT_TRUE(output.value("released", false)) << "the CLI ends the worker's job when it exits";
    EXPECT_FALSE(output.contains("kept_warm_seconds")) << result.out;
    EXPECT_TRUE(is_png(out));
    EXPECT_EQ(result.out.find(kKey), std::string::npos);
    EXPECT_EQ(result.err.find(kKey), std::string::npos);
}

TEST_F(Cli, WrongKeyExitsThreeWithJson) {
    EmulatorProcess emulator({"--cold-start-ms", "300"});
    auto args = generate_args(emulator, directory_ + "/fox.png");
    args.insert(args.end(), {"--json", "--quiet"});

    auto result = run_process(args, {std::string("RUNPOD_API_KEY=") + kKey});

    EXPECT_EQ(result.exit_code, 3) << result.err;
    const json output = json::parse(result.out, nullptr, false);
    ASSERT_FALSE(output.is_discarded()) << result.out;
    EXPECT_EQ(output.value("status", ""), "auth");
    EXPECT_NE(output.value("error", "").find("--api-key or RUNPOD_API_KEY"), std::string::npos) << result.out;
    EXPECT_EQ(result.out.find(kKey), std::string::npos) << result.out;
    EXPECT_EQ(result.err.find(kKey), std::string::npos) << result.err;
}

// RunPod replies to every /cancel with 500, so the worker's job cannot be ended. Even with
// --quiet the CLI prints the library's error lines that report it.
TEST_F(Cli, QuietStillReportsJobLeftRunning) {
    const std::string faults = directory_ + "/faults.json";
    std::ofstream(faults) << R"([{"route": "cancel", "kind": "status", "status": 500}])";
    EmulatorProcess emulator({"--cold-start-ms", "200", "--generation-ms", "50", "--faults", faults});
    auto args = generate_args(emulator, directory_ + "/fox.png");
    args.push_back("--quiet");

    auto result = run_process(args, {"RUNPOD_API_KEY=test-key"});

    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_NE(result.err.find("error: Could not cancel"), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("RunPod console"), std::string::npos) << result.err;
}

// The emulator renders each image from its seed, prompt, width and height and checks the
// model against its list, so equal bytes show that --request-json, --set and --model all
// reached the worker's SwarmUI.
TEST_F(Cli, RequestFileSetAndModelReachWorker) {
    EmulatorProcess emulator({"--cold-start-ms", "100", "--generation-ms", "20"});
    const std::string request_file = directory_ + "/request.json";
    {
        std::ofstream file(request_file, std::ios::binary);
        file << R"({"prompt": "a red fox", "seed": 7, "width": 96, "height": 64})";
    }
    auto read_bytes = [](const std::string& path) {
        std::ifstream file(path, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    };
    const std::vector<std::string> base = {SWARMPOD_CLI_PATH, "generate", "--endpoint", "test-endpoint",
                                           "--api-base", emulator.api_base(), "--allow-insecure-worker-urls",
                                           "--poll-interval-ms", "200", "--quiet"};
    auto run = [&](std::vector<std::string> extra, const std::string& out) {
        auto args = base;
        args.insert(args.end(), extra.begin(), extra.end());
        args.insert(args.end(), {"--out", out});
        return run_process(args, {"RUNPOD_API_KEY=test-key"});
    };

    const auto from_file = run({"--request-json", request_file}, directory_ + "/file.png");
    const auto from_flags = run({"--prompt", "a red fox", "--width", "96", "--height", "64", "--set", "seed=7", "--model",
                                 "OfficialStableDiffusion/sd_xl_base_1.0.safetensors"},
                                directory_ + "/flags.png");
    const auto other_seed = run({"--request-json", request_file, "--set", "seed=8"}, directory_ + "/seed8.png");
    const auto unknown_model = run({"--request-json", request_file, "--model", "no-such-model.safetensors"},
                                   directory_ + "/none.png");

    ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
    ASSERT_EQ(from_flags.exit_code, 0) << from_flags.err;
    ASSERT_EQ(other_seed.exit_code, 0) << other_seed.err;
    const std::string file_bytes = read_bytes(directory_ + "/file.png");
    EXPECT_TRUE(is_png(directory_ + "/file.png"));
    EXPECT_EQ(file_bytes, read_bytes(directory_ + "/flags.png")) << "the flags built another request than the file";
    EXPECT_NE(file_bytes, read_bytes(directory_ + "/seed8.png")) << "--set seed=8 did not override the file's seed";
    EXPECT_EQ(unknown_model.exit_code, 1) << unknown_model.err;
    const auto model_lines = lines_of(unknown_model.err);
    ASSERT_FALSE(model_lines.empty());
    EXPECT_NE(model_lines.back().find("no-such-model.safetensors"), std::string::npos) << unknown_model.err;
}

// nlohmann::json's dump() recurses once per nesting level and 100 000 levels overflow the
// stack, so the CLI must reject such a file as a usage error naming the option and the limit.
TEST_F(Cli, DeeplyNestedJsonIsUsageError) {
    const std::string deep_file = directory_ + "/deep.json";
    {
        std::ofstream file(deep_file, std::ios::binary);
        file << "{\"prompt\": \"a red fox\", \"nested\": " << std::string(100000, '[') << std::string(100000, ']')
             << "}";
    }
    const std::vector<std::string> base = {SWARMPOD_CLI_PATH, "generate", "--endpoint", "e",
                                           "--api-base", "http://127.0.0.1:9", "--prompt", "x"};
    struct Case {
        std::vector<std::string> args;
        std::string option;
    };
    std::vector<Case> cases;
    cases.push_back({base, "--request-json"});
    cases.back().args.insert(cases.back().args.end(), {"--request-json", deep_file});
    cases.push_back({base, "--config"});
    cases.back().args.insert(cases.back().args.end(), {"--config", deep_file});
    // `--request-json -` reads stdin, which run_process does not feed, so a shell redirects it.
    std::string stdin_command = "exec";
    for (const auto& arg : base) {
        stdin_command += " '" + arg + "'";
    }
    stdin_command += " --request-json - < '" + deep_file + "'";
    cases.push_back({{"/bin/sh", "-c", stdin_command}, "--request-json"});

    for (const auto& test_case : cases) {
        const std::string& label = test_case.args.back();
        auto result = run_process(test_case.args, {"RUNPOD_API_KEY=test-key"});

        EXPECT_EQ(result.exit_code, 2) << label << ": " << result.err;
        const auto lines = lines_of(result.err);
        ASSERT_FALSE(lines.empty()) << label;
        const std::string prefix = "swarmpod: error: " + test_case.option + " file";
        EXPECT_EQ(lines.back().rfind(prefix, 0), 0u) << label << ": " << result.err;
        EXPECT_NE(lines.back().find("256 levels"), std::string::npos) << label << ": " << result.err;
    }
}

}  // namespace
