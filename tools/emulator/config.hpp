// Settings of one emulator run, filled from the command line by main.cpp.
#pragma once

#include <cstdint>
#include <string>

namespace emulator {

enum class WorkerProtocol { v1, v2 };
enum class ImageFormat { png, jpeg, webp };

struct Config {
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 0;
    bool allow_non_loopback = false;
    bool quiet = false;

    std::string api_key = "test-key";
    std::string endpoint_id = "test-endpoint";
    WorkerProtocol protocol = WorkerProtocol::v1;

    // All durations are in milliseconds.
    std::int64_t cold_start_ms = 2000;
    std::int64_t flashboot_ms = 0;
    std::int64_t flashboot_cold_start_ms = 250;
    std::int64_t generation_ms = 500;
    std::int64_t idle_timeout_ms = 5000;
    std::int64_t job_retention_ms = 1800000;
    std::int64_t sync_job_retention_ms = 60000;
    std::int64_t cancel_stop_delay_ms = 100;
    std::int64_t keepalive_ms = 1000;
    // How long GenerateText2ImageWS waits after socket_intention "close" for the client's next
    // message before it sends the final status and closes; SwarmUI waits 2 s.
    std::int64_t ws_linger_ms = 2000;
    // Delay of GenerateText2ImageWS before its reply to the client's Close frame, like a round
    // trip through a far proxy. With 0 the reply is immediate.
    std::int64_t ws_close_reply_ms = 0;
    // How long GenerateText2ImageWS waits for the request after the upgrade before it closes
    // the socket; SwarmUI waits 1 minute.
    std::int64_t ws_first_message_timeout_ms = 60000;
    std::int64_t proxy_cut_ms = 0;
    int max_workers = 3;
    int steps_per_image = 5;
    int rate_limit = 0;

    ImageFormat image_format = ImageFormat::png;
    // Pixels that no encoder can compress (see render_image), for memory benchmarks.
    bool image_noise = false;
    std::string report_url;
    std::string models_file;
    std::string faults_file;
    // PEM files. When they are set, every worker serves HTTPS and WSS instead of HTTP and WS.
    std::string worker_tls_cert;
    std::string worker_tls_key;
};

} // namespace emulator
