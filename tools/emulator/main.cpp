// swarmpod-emulator: RunPod Serverless plus the worker's SwarmUI on loopback, for tests and demos.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include <pthread.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "config.hpp"
#include "faults.hpp"
#include "http_server.hpp"
#include "ledger.hpp"
#include "models.hpp"
#include "runpod_api.hpp"
#include "scheduler.hpp"

namespace {

using emulator::Config;

constexpr const char* usage_line =
    "usage: swarmpod-emulator [--listen HOST:PORT] [--api-key KEY] [--endpoint-id ID] [--protocol v1|v2] "
    "[--cold-start-ms N] [--generation-ms N] [--idle-timeout-ms N] [--max-workers N] [options...]; see --help";

void print_help()
{
    std::printf(
        "swarmpod-emulator: a local RunPod Serverless endpoint whose workers run an emulated SwarmUI.\n"
        "\n"
        "Options (durations in milliseconds):\n"
        "  --listen HOST:PORT       address of the RunPod API (default 127.0.0.1:0; port 0 picks a free port)\n"
        "  --allow-non-loopback     allow a --listen host that is not a loopback address\n"
        "  --api-key KEY            RunPod API key clients must send (default test-key)\n"
        "  --endpoint-id ID         endpoint id served under /v2/ID/ (default test-endpoint)\n"
        "  --protocol v1|v2         worker image protocol: v1 wakeup/keepalive, v2 lease + token gateway (default v1)\n"
        "  --cold-start-ms N        time from worker start to its SwarmUI answering (default 2000)\n"
        "  --flashboot-ms N         a worker started less than N ms after another stopped boots in\n"
        "                           --flashboot-cold-start-ms instead (default 0 = off)\n"
        "  --flashboot-cold-start-ms N  cold start of a FlashBoot restart (default 250)\n"
        "  --generation-ms N        generation time per image (default 500)\n"
        "  --steps-per-image N      progress steps (and WebSocket previews) per image (default 5)\n"
        "  --keepalive-ms N         interval of WebSocket keep_alive messages while generating (default 1000)\n"
        "  --ws-linger-ms N         wait after socket_intention \"close\" for the client's next message, as\n"
        "                           SwarmUI does, before the final status and Close (default 2000)\n"
        "  --ws-close-reply-ms N    delay before answering the client's Close frame, as a far network\n"
        "                           path would (default 0)\n"
        "  --ws-first-message-timeout-ms N  wait for the request after a WebSocket upgrade before\n"
        "                           closing the socket, as SwarmUI does (default 60000)\n"
        "  --idle-timeout-ms N      endpoint idle timeout: a worker without a job stops after N (default 5000)\n"
        "  --max-workers N          maximum workers running at once (default 3)\n"
        "  --job-retention-ms N     how long a /run job's result stays readable after it ends (default 1800000)\n"
        "  --sync-retention-ms N    the same for /runsync jobs (default 60000)\n"
        "  --cancel-stop-ms N       delay between cancelling a running job and its worker stopping (default 100)\n"
        "  --proxy-cut-ms N         cut worker HTTP requests silent for longer than N with a 524 page (default 0 = "
        "off)\n"
        "  --image-format F         png, jpeg or webp (default png)\n"
        "  --image-noise            random pixels that do not compress (a 4096 x 4096 PNG is 48 MiB)\n"
        "  --rate-limit N           requests per 10 s per RunPod route before 429 (default 0 = unlimited)\n"
        "  --report-url URL         public_url the workers report instead of their loopback URL\n"
        "  --models-file FILE       JSON list of model objects (default: a built-in SDXL, Flux and SD 1.5 list)\n"
        "  --faults FILE            JSON list of fault rules, the same as POST /admin/faults\n"
        "  --worker-tls-cert FILE   PEM certificate chain; workers then serve https:// and wss:// (needs\n"
        "                           --worker-tls-key)\n"
        "  --worker-tls-key FILE    PEM private key of --worker-tls-cert\n"
        "  --quiet                  log warnings and errors only (logs go to stderr)\n"
        "  --help                   print this help\n"
        "\n"
        "After binding it prints one line to stdout: swarmpod-emulator listening on http://HOST:PORT\n");
}

[[noreturn]] void usage_error(const std::string& message)
{
    std::fprintf(stderr, "swarmpod-emulator: %s\n%s\n", message.c_str(), usage_line);
    std::exit(2);
}

std::int64_t parse_number(const std::string& flag, const std::string& text, std::int64_t low, std::int64_t high)
{
    try {
        std::size_t used = 0;
        long long value = std::stoll(text, &used);
        if (used == text.size() && value >= low && value <= high) {
            return value;
        }
    } catch (const std::exception&) {
    }
    usage_error("invalid value '" + text + "' for " + flag + ": expected an integer from " + std::to_string(low) +
                " to " + std::to_string(high));
}

bool is_loopback_host(const std::string& host)
{
    return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

Config parse_flags(int argc, char** argv)
{
    Config config;
    constexpr std::int64_t max_ms = 7LL * 24 * 3600 * 1000;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                usage_error("missing value for " + flag);
            }
            return argv[++i];
        };
        if (flag == "--help" || flag == "-h") {
            print_help();
            std::exit(0);
        } else if (flag == "--listen") {
            std::string text = value();
            auto colon = text.rfind(':');
            if (colon == std::string::npos || colon == 0) {
                usage_error("invalid --listen '" + text + "': expected HOST:PORT");
            }
            config.listen_host = text.substr(0, colon);
            if (config.listen_host.size() > 2 && config.listen_host.front() == '[') {
                config.listen_host = config.listen_host.substr(1, config.listen_host.size() - 2);
            }
            config.listen_port = static_cast<std::uint16_t>(parse_number(flag, text.substr(colon + 1), 0, 65535));
        } else if (flag == "--allow-non-loopback") {
            config.allow_non_loopback = true;
        } else if (flag == "--quiet") {
            config.quiet = true;
        } else if (flag == "--api-key") {
            config.api_key = value();
        } else if (flag == "--endpoint-id") {
            config.endpoint_id = value();
        } else if (flag == "--protocol") {
            std::string text = value();
            if (text != "v1" && text != "v2") {
                usage_error("invalid --protocol '" + text + "': expected v1 or v2");
            }
            config.protocol = text == "v2" ? emulator::WorkerProtocol::v2 : emulator::WorkerProtocol::v1;
        } else if (flag == "--cold-start-ms") {
            config.cold_start_ms = parse_number(flag, value(), 0, max_ms);
        } else if (flag == "--flashboot-ms") {
            config.flashboot_ms = parse_number(flag, value(), 0, max_ms);
        } else if (flag == "--flashboot-cold-start-ms") {
            config.flashboot_cold_start_ms = parse_number(flag, value(), 0, max_ms);
        } else if (flag == "--generation-ms") {
            config.generation_ms = parse_number(flag, value(), 0, max_ms);
        } else if (flag == "--steps-per-image") {
            config.steps_per_image = static_cast<int>(parse_number(flag, value(), 1, 1000));
        } else if (flag == "--keepalive-ms") {
            config.keepalive_ms = parse_number(flag, value(), 1, max_ms);
        } else if (flag == "--ws-linger-ms") {
            config.ws_linger_ms = parse_number(flag, value(), 0, max_ms);
        } else if (flag == "--ws-close-reply-ms") {
            config.ws_close_reply_ms = parse_number(flag, value(), 0, max_ms);
        } else if (flag == "--ws-first-message-timeout-ms") {
            config.ws_first_message_timeout_ms = parse_number(flag, value(), 1, max_ms);
        } else if (flag == "--idle-timeout-ms") {
            config.idle_timeout_ms = parse_number(flag, value(), 0, max_ms);
        } else if (flag == "--max-workers") {
            config.max_workers = static_cast<int>(parse_number(flag, value(), 1, 1000));
        } else if (flag == "--job-retention-ms") {
            config.job_retention_ms = parse_number(flag, value(), 0, max_ms);
        } else if (flag == "--sync-retention-ms") {
            config.sync_job_retention_ms = parse_number(flag, value(), 0, max_ms);
        } else if (flag == "--cancel-stop-ms") {
            config.cancel_stop_delay_ms = parse_number(flag, value(), 0, max_ms);
        } else if (flag == "--proxy-cut-ms") {
            config.proxy_cut_ms = parse_number(flag, value(), 0, max_ms);
        } else if (flag == "--rate-limit") {
            config.rate_limit = static_cast<int>(parse_number(flag, value(), 0, 1000000));
        } else if (flag == "--image-noise") {
            config.image_noise = true;
        } else if (flag == "--image-format") {
            std::string text = value();
            if (text == "png") {
                config.image_format = emulator::ImageFormat::png;
            } else if (text == "jpeg" || text == "jpg") {
                config.image_format = emulator::ImageFormat::jpeg;
            } else if (text == "webp") {
                config.image_format = emulator::ImageFormat::webp;
            } else {
                usage_error("invalid --image-format '" + text + "': expected png, jpeg or webp");
            }
        } else if (flag == "--report-url") {
            config.report_url = value();
        } else if (flag == "--models-file") {
            config.models_file = value();
        } else if (flag == "--faults") {
            config.faults_file = value();
        } else if (flag == "--worker-tls-cert") {
            config.worker_tls_cert = value();
        } else if (flag == "--worker-tls-key") {
            config.worker_tls_key = value();
        } else {
            usage_error("unknown option '" + flag + "'");
        }
    }
    if (config.worker_tls_cert.empty() != config.worker_tls_key.empty()) {
        usage_error("--worker-tls-cert and --worker-tls-key must be given together");
    }
    if (!config.worker_tls_cert.empty()) {
        // Loaded once here so that a bad file stops the emulator at startup, not at the first worker.
        try {
            emulator::make_server_tls_context(config.worker_tls_cert, config.worker_tls_key);
        } catch (const std::exception& error) {
            usage_error(error.what());
        }
    }
    if (!config.allow_non_loopback && !is_loopback_host(config.listen_host)) {
        usage_error("--listen host '" + config.listen_host +
                    "' is not a loopback address; add --allow-non-loopback to bind it anyway");
    }
    return config;
}

std::vector<emulator::FaultRule> load_faults(const std::string& path)
{
    std::ifstream in(path);
    if (!in) {
        usage_error("cannot open faults file " + path);
    }
    auto parsed = emulator::Faults::parse(nlohmann::json::parse(in, nullptr, false));
    if (auto* message = std::get_if<std::string>(&parsed)) {
        usage_error("invalid faults file " + path + ": " + *message);
    }
    return std::get<std::vector<emulator::FaultRule>>(parsed);
}

} // namespace

int main(int argc, char** argv)
{
    Config config = parse_flags(argc, argv);

    auto logger = spdlog::stderr_color_mt("swarmpod-emulator");
    logger->set_pattern("[%H:%M:%S.%e] [%^%l%$] %v");
    logger->set_level(config.quiet ? spdlog::level::warn : spdlog::level::info);
    spdlog::set_default_logger(logger);

    std::optional<emulator::ModelCatalog> models;
    try {
        models = config.models_file.empty() ? emulator::ModelCatalog::built_in()
                                             : emulator::ModelCatalog::from_file(config.models_file);
    } catch (const std::exception& error) {
        usage_error(error.what());
    }
    emulator::Faults faults;
    if (!config.faults_file.empty()) {
        faults.replace(load_faults(config.faults_file));
    }

    // Signals are taken by one thread with sigtimedwait, so the rest of the program never runs a handler.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    emulator::Ledger ledger;
    emulator::Scheduler scheduler(config, *models, ledger, faults);
    emulator::RunPodApi api(config, scheduler, faults);
    std::uint16_t port = 0;
    try {
        port = api.bind();
    } catch (const std::exception& error) {
        spdlog::error("{}", error.what());
        return 1;
    }
    scheduler.start();

    std::atomic<bool> serving{true};
    std::thread signal_thread([&] {
        timespec timeout{0, 200 * 1000 * 1000};
        while (serving) {
            int received = sigtimedwait(&signals, nullptr, &timeout);
            if (received == SIGINT || received == SIGTERM) {
                spdlog::info("signal {} received, shutting down", received);
                api.request_stop();
                return;
            }
        }
    });

    std::string host = config.listen_host.find(':') != std::string::npos ? "[" + config.listen_host + "]"
                                                                          : config.listen_host;
    std::printf("swarmpod-emulator listening on http://%s:%u\n", host.c_str(), static_cast<unsigned>(port));
    std::fflush(stdout);
    spdlog::info("endpoint {} ready, protocol {}, {} model(s), max {} worker(s)", config.endpoint_id,
                 config.protocol == emulator::WorkerProtocol::v2 ? "v2" : "v1", models->size(), config.max_workers);

    api.wait_for_stop();
    serving = false;
    signal_thread.join();
    // The scheduler stops first, because that wakes /runsync requests waiting for their job.
    scheduler.stop();
    api.stop();
    spdlog::info("stopped");
    return 0;
}
