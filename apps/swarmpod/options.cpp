#include "options.hpp"

#include "errors.hpp"
#include "option_parser.hpp"

#include <swarmpod/swarmpod.h>

#include <functional>
#include <limits>
#include <utility>

namespace swarmpod_cli {
namespace {

constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

// The ranges swarmpod_backend_new accepts for these config fields (src/backend/config.cpp),
// checked here too so that a bad value is a usage error that names the flag. The CLI
// cannot include that private header, and a CLI test checks both ends against the library.
struct Range {
    int64_t min;
    int64_t max;
};
constexpr Range kStartupTimeoutSec{1, 3600};
constexpr Range kGenerationTimeoutSec{1, 86400};
constexpr Range kPollIntervalMs{50, 60000};
constexpr Range kKeepWarmSec{0, 3600};

int64_t parse_in_range(const std::string &value, const char *option, Range range) {
    return parse_integer(value, option, range.min, range.max);
}

// Returns a setter that rejects a value that is not valid UTF-8 before storing it, for
// options whose value ends up in the library's JSON.
std::function<void(const std::string &)> utf8_text(const char *option,
                                                   std::function<void(const std::string &)> store) {
    return [option, store = std::move(store)](const std::string &value) {
        require_utf8(value, option);
        store(value);
    };
}

int32_t parse_log_level(const std::string &value) {
    if (value == "trace") return SWARMPOD_LOG_TRACE;
    if (value == "debug") return SWARMPOD_LOG_DEBUG;
    if (value == "info") return SWARMPOD_LOG_INFO;
    if (value == "warn" || value == "warning") return SWARMPOD_LOG_WARN;
    if (value == "error") return SWARMPOD_LOG_ERROR;
    if (value == "off") return SWARMPOD_LOG_OFF;
    throw UsageError("invalid value '" + value +
                     "' for --log-level; expected trace, debug, info, warn, error or off");
}

// Parses a --set value as JSON: numbers, true/false, null, arrays, objects and quoted
// strings. Anything that is not valid JSON is taken as a plain string.
nlohmann::json parse_set_value(const std::string &value) {
    nlohmann::json parsed = nlohmann::json::parse(value, nullptr, false);
    if (parsed.is_discarded()) {
        return nlohmann::json(value);
    }
    return parsed;
}

OptionSpec heading(const char *title) {
    return {"", "", title, nullptr};
}

std::vector<OptionSpec> connection_specs(ConnectionOptions &o) {
    return {
        {"--endpoint", "ID", "RunPod Serverless endpoint id (required;\nenv SWARMPOD_ENDPOINT)",
         utf8_text("--endpoint", [&o](const std::string &v) { o.endpoint = v; })},
        {"--api-base", "URL", "RunPod Serverless API base URL\n(default https://api.runpod.ai/v2)",
         utf8_text("--api-base", [&o](const std::string &v) { o.api_base = v; })},
        {"--api-key", "KEY", "RunPod API key (env RUNPOD_API_KEY); never\nprinted",
         [&o](const std::string &v) {
             add_secret(v);
             if (v.empty()) {
                 throw UsageError("--api-key is empty; pass the RunPod API key, or leave --api-key out to use "
                                  "RUNPOD_API_KEY");
             }
             require_utf8(v, "--api-key");
             o.api_key = v;
         }},
        {"--config", "FILE",
         "JSON object of backend settings as\nswarmpod_backend_new takes them (EndpointId,\n"
         "PollIntervalMs, ...); flags override it",
         [&o](const std::string &v) { o.config_file = v; }},
        {"--ca-bundle", "FILE", "PEM file of CA certificates to trust",
         utf8_text("--ca-bundle", [&o](const std::string &v) { o.ca_bundle = v; })},
        {"--allow-insecure-worker-urls", "", "accept loopback and plain-HTTP worker URLs\n(for the local emulator)",
         [&o](const std::string &) { o.allow_insecure_worker_urls = true; }},
    };
}

std::vector<OptionSpec> reporting_specs(ConnectionOptions &o) {
    return {
        {"--json", "", "print one JSON object on stdout at the end\nand nothing else on stdout",
         [&o](const std::string &) { o.json = true; }},
        {"--quiet", "", "print no progress, and library log lines only at error level",
         [&o](const std::string &) { o.quiet = true; }},
        {"--verbose", "", "print library debug logs (--log-level debug)",
         [&o](const std::string &) { o.verbose = true; }},
        {"--log-level", "LEVEL", "library log level: trace, debug, info, warn,\nerror or off (default info)",
         [&o](const std::string &v) { o.log_level = parse_log_level(v); }},
    };
}

void check_connection_options(const ConnectionOptions &o) {
    if (o.quiet && o.verbose) {
        throw UsageError("--quiet and --verbose contradict each other; keep one of them");
    }
}

void append(std::vector<OptionSpec> &specs, std::vector<OptionSpec> more) {
    for (OptionSpec &spec : more) {
        specs.push_back(std::move(spec));
    }
}

std::vector<OptionSpec> generate_specs(GenerateOptions &o) {
    auto field = [&o](const char *key, nlohmann::json value) {
        o.request_fields.emplace_back(key, std::move(value));
    };
    std::vector<OptionSpec> specs = {
        heading("Request (SwarmUI parameter ids in brackets)"),
        {"--prompt", "TEXT", "prompt [prompt]; required unless the request\nfile has one",
         utf8_text("--prompt", [field](const std::string &v) { field("prompt", v); })},
        {"--negative", "TEXT", "negative prompt [negativeprompt]",
         utf8_text("--negative", [field](const std::string &v) { field("negativeprompt", v); })},
        {"--model", "NAME", "model name as the worker's SwarmUI lists it\n[model]",
         utf8_text("--model", [field](const std::string &v) { field("model", v); })},
        {"--width", "N", "image width in pixels [width]",
         [field](const std::string &v) { field("width", parse_integer(v, "--width", 1, kInt32Max)); }},
        {"--height", "N", "image height in pixels [height]",
         [field](const std::string &v) { field("height", parse_integer(v, "--height", 1, kInt32Max)); }},
        {"--steps", "N", "sampling steps [steps]",
         [field](const std::string &v) { field("steps", parse_integer(v, "--steps", 0, kInt32Max)); }},
        {"--seed", "N", "seed; -1 picks a random one [seed]",
         [field](const std::string &v) { field("seed", parse_integer(v, "--seed", -1, kInt64Max)); }},
        {"--images", "N", "number of images, 1 to 100 [images]\n(default 1)",
         [field](const std::string &v) { field("images", parse_integer(v, "--images", 1, 100)); }},
        {"--set", "KEY=VALUE",
         "set any SwarmUI parameter; VALUE is parsed as\n"
         "JSON when it parses (42, true, {...}), else\n"
         "taken as a string; repeatable",
         [&o](const std::string &v) {
             require_utf8(v, "--set");
             const std::size_t equals = v.find('=');
             if (equals == std::string::npos || equals == 0) {
                 throw UsageError("invalid --set '" + v + "'; expected KEY=VALUE, e.g. --set cfgscale=7");
             }
             o.request_fields.emplace_back(v.substr(0, equals), parse_set_value(v.substr(equals + 1)));
         }},
        {"--request-json", "FILE",
         "GenerateText2Image body to start from ('-'\nreads stdin); the flags above override its\nfields",
         [&o](const std::string &v) { o.request_file = v; }},
        heading("Output"),
        {"--out", "PATH",
         "image file (default\n./swarmpod-<yyyymmdd-hhmmss>.<ext>); with\n"
         "several images PATH gets -<index> before the\n"
         "extension; an existing directory receives\ndefault-named files",
         [&o](const std::string &v) { o.out = v; }},
    };
    append(specs, reporting_specs(o.connection));
    specs.push_back(heading("RunPod and worker"));
    append(specs, connection_specs(o.connection));
    append(specs, {
        {"--protocol", "auto|v1|v2", "worker protocol (library default auto)",
         [&o](const std::string &v) {
             if (v != "auto" && v != "v1" && v != "v2") {
                 throw UsageError("invalid value '" + v + "' for --protocol; expected auto, v1 or v2");
             }
             o.protocol = v;
         }},
        {"--startup-timeout", "SEC", "seconds to wait for a worker to start,\n1 to 3600 (library default 120)",
         [&o](const std::string &v) {
             o.startup_timeout_sec = parse_in_range(v, "--startup-timeout", kStartupTimeoutSec);
         }},
        {"--generation-timeout", "SEC",
         "seconds to wait for the images once the\nworker is ready, 1 to 86400 (library\ndefault 300)",
         [&o](const std::string &v) {
             o.generation_timeout_sec = parse_in_range(v, "--generation-timeout", kGenerationTimeoutSec);
         }},
        {"--poll-interval-ms", "N", "milliseconds between RunPod status polls,\n50 to 60000 (library default 2000)",
         [&o](const std::string &v) { o.poll_interval_ms = parse_in_range(v, "--poll-interval-ms", kPollIntervalMs); }},
        {"--keep-warm", "SEC",
         "seconds the library holds the worker after a\ngeneration, 0 to 3600 (library default 5);\n"
         "the CLI releases it on exit anyway",
         [&o](const std::string &v) { o.keep_warm_sec = parse_in_range(v, "--keep-warm", kKeepWarmSec); }},
    });
    return specs;
}

std::vector<OptionSpec> health_specs(HealthOptions &o) {
    std::vector<OptionSpec> specs = {heading("RunPod")};
    append(specs, connection_specs(o.connection));
    specs.push_back(heading("Output"));
    append(specs, reporting_specs(o.connection));
    return specs;
}

// Appends -h/--help to a command's option table for its help text only.
std::vector<OptionSpec> with_help(std::vector<OptionSpec> specs) {
    specs.push_back({"-h, --help", "", "show this help", nullptr});
    return specs;
}

const char *const kExitCodeHelp =
    "Exit codes:\n"
    "  0    success\n"
    "  1    any other failure (network, worker error, invalid config, ...)\n"
    "  2    usage error (unknown option, invalid value, unreadable file)\n"
    "  3    authentication: RunPod rejected the API key, or none was given\n"
    "  4    not found: the endpoint or job does not exist\n"
    "  5    timeout: startup, generation or an HTTP call timed out\n"
    "  6    cancelled\n"
    "  130  interrupted by Ctrl-C (SIGINT); 143 for SIGTERM\n";

} // namespace

std::optional<GenerateOptions> parse_generate_options(const std::vector<std::string> &args) {
    GenerateOptions options;
    if (!parse_options(generate_specs(options), args)) {
        return std::nullopt;
    }
    check_connection_options(options.connection);
    return options;
}

std::optional<HealthOptions> parse_health_options(const std::vector<std::string> &args) {
    HealthOptions options;
    if (!parse_options(health_specs(options), args)) {
        return std::nullopt;
    }
    check_connection_options(options.connection);
    return options;
}

std::string main_help() {
    return std::string(
               "Usage: swarmpod <command> [options]\n"
               "\n"
               "Generates SwarmUI images on RunPod Serverless GPU workers.\n"
               "\n"
               "Commands:\n"
               "  generate    wake a worker, generate images, write them to files\n"
               "  health      show the endpoint's workers and queue, with a diagnosis\n"
               "  help [CMD]  show this help or the help of a command\n"
               "\n"
               "Options:\n"
               "  -h, --help  show this help\n"
               "  --version   show the CLI, library and header versions\n"
               "\n"
               "Environment:\n"
               "  RUNPOD_API_KEY     API key when --api-key is not given\n"
               "  SWARMPOD_ENDPOINT  endpoint id when --endpoint is not given\n"
               "\n") +
           kExitCodeHelp + "\nRun 'swarmpod <command> --help' for the options of a command.\n";
}

std::string generate_help() {
    GenerateOptions unused;
    return std::string(
               "Usage: swarmpod generate --endpoint ID --prompt TEXT [options]\n"
               "\n"
               "Sends one SwarmUI GenerateText2Image request to a RunPod Serverless worker\n"
               "and writes the images to files. Progress goes to stderr; one line\n"
               "'image written: PATH (WxH, MIME)' per image goes to stdout.\n"
               "Later options override earlier ones; settings come from flags, then\n"
               "the environment, then --config.\n") +
           format_options_help(with_help(generate_specs(unused))) + "\n" + kExitCodeHelp;
}

std::string health_help() {
    HealthOptions unused;
    return std::string(
               "Usage: swarmpod health --endpoint ID [options]\n"
               "\n"
               "Reads the endpoint's RunPod /health, which starts no job and bills nothing,\n"
               "and prints the worker and job counters with a diagnosis (ready,\n"
               "no_workers, initializing, throttled, unhealthy or busy).\n"
               "Settings come from flags, then the environment, then --config.\n") +
           format_options_help(with_help(health_specs(unused))) + "\n" + kExitCodeHelp;
}

int32_t effective_log_level(const ConnectionOptions &options) {
    if (options.log_level) {
        return *options.log_level;
    }
    // Error lines stay: they report RunPod jobs that could not be ended and may bill.
    if (options.quiet) {
        return SWARMPOD_LOG_ERROR;
    }
    return options.verbose ? SWARMPOD_LOG_DEBUG : SWARMPOD_LOG_INFO;
}

} // namespace swarmpod_cli
