// Fault soak: drives libswarmpod through its C ABI against swarmpod-emulator processes, first a
// fault-free baseline and then the same trace of generations under random injected faults, and
// checks images, error codes, hangs, leaked jobs and billed GPU-seconds. Exits 1 on any failure.
#include <swarmpod/swarmpod.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr int kStartupTimeoutSec = 10;
constexpr int kGenerationTimeoutSec = 10;
// A call may overrun its deadline by the time one HTTP attempt and the job cleanup take.
constexpr int kWatchdogGraceSec = 20;
constexpr int kColdStartMs = 200;
constexpr int kGenerationMs = 30;
// In the fault run, an HTTP generation of 4 images (120 ms) sends nothing for longer than this,
// so the emulator cuts it. The baseline runs without the cut.
constexpr int kProxyCutMs = 100;

struct Options {
    int generations = 150;
    std::uint64_t seed = 0;
    int threads = 4;
    int max_concurrent = 3;
    std::string emulator = SWARMPOD_EMULATOR_PATH;
    int restarts = 1; // emulator restarts per segment in the fault run
};

std::uint64_t fnv1a64(const uint8_t* data, std::size_t size) {
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (std::size_t i = 0; i < size; ++i) {
        hash ^= data[i];
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

std::string hex16(std::uint64_t value) {
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
    return text;
}

// ------------------------------------------------------------------ emulator process

class Emulator {
public:
    Emulator(std::string path, std::vector<std::string> args) : path_(std::move(path)), args_(std::move(args)) {}
    ~Emulator() { kill_now(); }

    // Starts the emulator on `port` (0 picks one) and waits for its "listening on" line.
    void start(int port) {
        std::vector<std::string> argv_strings = {path_, "--listen", "127.0.0.1:" + std::to_string(port), "--quiet"};
        argv_strings.insert(argv_strings.end(), args_.begin(), args_.end());
        std::vector<char*> argv;
        for (auto& arg : argv_strings) argv.push_back(arg.data());
        argv.push_back(nullptr);
        int out_pipe[2];
        if (pipe(out_pipe) != 0) throw std::runtime_error("pipe failed");
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
        posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
        pid_t pid = 0;
        const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        close(out_pipe[1]);
        if (spawned != 0) {
            close(out_pipe[0]);
            throw std::runtime_error("cannot start " + path_ + ": " + std::strerror(spawned));
        }
        pid_ = pid;
        std::string line;
        const auto deadline = Clock::now() + std::chrono::seconds(10);
        while (line.find('\n') == std::string::npos && Clock::now() < deadline) {
            pollfd fd{out_pipe[0], POLLIN, 0};
            if (poll(&fd, 1, 100) <= 0) continue;
            char buffer[256];
            const ssize_t got = read(out_pipe[0], buffer, sizeof buffer);
            if (got <= 0) break;
            line.append(buffer, static_cast<std::size_t>(got));
        }
        close(out_pipe[0]);
        const auto colon = line.rfind(':');
        if (line.find("listening on") == std::string::npos || colon == std::string::npos) {
            kill_now();
            throw std::runtime_error("swarmpod-emulator on port " + std::to_string(port) +
                                     " did not report its port; output: '" + line + "'");
        }
        port_ = std::stoi(line.substr(colon + 1));
    }

    // SIGKILL, as a crash or a host restart would end it: workers and jobs vanish with it.
    void kill_now() {
        if (pid_ <= 0) return;
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

    int port() const { return port_; }

    // Polls the ledger until no worker runs (up to 15 s) and returns the last one.
    json wait_for_idle() const {
        json ledger = get("/admin/ledger");
        const auto until = Clock::now() + std::chrono::seconds(15);
        while (ledger.at("live_workers").get<int>() > 0 && Clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            ledger = get("/admin/ledger");
        }
        return ledger;
    }

    json get(const std::string& path) const {
        httplib::Client client("127.0.0.1", port_);
        client.set_read_timeout(5, 0);
        auto reply = client.Get(path);
        if (!reply || reply->status != 200) throw std::runtime_error("GET " + path + " failed");
        return json::parse(reply->body);
    }

    void post(const std::string& path, const std::string& body) const {
        httplib::Client client("127.0.0.1", port_);
        client.set_read_timeout(5, 0);
        auto reply = client.Post(path, body, "application/json");
        if (!reply || reply->status != 200) throw std::runtime_error("POST " + path + " failed");
    }

private:
    std::string path_;
    std::vector<std::string> args_;
    int pid_ = -1;
    int port_ = 0;
};

// ------------------------------------------------------------------ trace

// One segment: a worker protocol and transport, with its own emulator and backend.
struct Segment {
    std::string protocol; // v1 or v2
    bool websocket = true;
    int first = 0;        // index of its first generation
    int count = 0;
};

struct Generation {
    int index = 0;
    int images = 1;
    std::int64_t seed = 0;
    std::string request;
};

struct Outcome {
    int32_t status = 0;
    std::string message;
    double seconds = 0;
    std::vector<std::pair<int, std::string>> images; // (batch index, FNV-1a 64 hex)
    bool overlapped_restart = false;
};

std::vector<Generation> make_trace(const Options& options, const std::vector<Segment>& segments) {
    std::mt19937_64 random(options.seed);
    std::vector<Generation> trace;
    for (const auto& segment : segments) {
        for (int i = 0; i < segment.count; ++i) {
            Generation generation;
            generation.index = segment.first + i;
            const int roll = static_cast<int>(random() % 100);
            // 60 % one image, 30 % two, 7 % three and 3 % four.
            generation.images = 4;
            if (roll < 97) generation.images = 3;
            if (roll < 90) generation.images = 2;
            if (roll < 60) generation.images = 1;
            generation.seed = static_cast<std::int64_t>(random() % 1000000);
            generation.request = json{{"prompt", "soak generation " + std::to_string(generation.index)},
                                      {"seed", generation.seed},
                                      {"images", generation.images},
                                      {"width", 64},
                                      {"height", 64}}
                                     .dump();
            trace.push_back(std::move(generation));
        }
    }
    return trace;
}

// ------------------------------------------------------------------ faults

// The fault rules of the fault run. Probabilities are per matching request; they were tuned so
// that the fired faults number about a fifth of the generations.
json fault_rules(const Segment& segment) {
    const bool v2 = segment.protocol == "v2";
    const std::string generate_route =
        std::string("worker:") + (segment.websocket ? "GenerateText2ImageWS" : "GenerateText2Image");
    json rules = json::array();
    auto add = [&](json rule) { rules.push_back(std::move(rule)); };
    add({{"route", "run"}, {"kind", "status"}, {"status", 429}, {"retry_after", "1"}, {"probability", 0.03}});
    add({{"route", "run"}, {"kind", "status"}, {"status", 429}, {"probability", 0.02}});
    add({{"route", "run"}, {"kind", "status"}, {"status", 503}, {"html", true}, {"probability", 0.02}});
    add({{"route", "run"}, {"kind", "reset"}, {"probability", 0.02}});
    add({{"route", "status"}, {"kind", "status"}, {"status", 500}, {"probability", 0.02}});
    add({{"route", "status"}, {"kind", "status"}, {"status", 502}, {"html", true}, {"probability", 0.02}});
    add({{"route", "status"}, {"kind", "status"}, {"status", 504}, {"probability", 0.02}});
    add({{"route", "status"}, {"kind", "reset"}, {"probability", 0.01}});
    add({{"route", "status"}, {"kind", "slow"}, {"delay_ms", 1500}, {"probability", 0.01}});
    add({{"route", "status"}, {"kind", "status"}, {"status", 404}, {"message", "job not found"},
         {"probability", 0.005}});
    add({{"route", "status"}, {"kind", "end_job"}, {"job_status", "FAILED"}, {"probability", 0.01}});
    add({{"route", "status"}, {"kind", "end_job"}, {"job_status", "CANCELLED"}, {"probability", 0.01}});
    add({{"route", "status"}, {"kind", "end_job"}, {"job_status", "TIMED_OUT"}, {"probability", 0.005}});
    if (v2) {
        add({{"route", "stream"}, {"kind", "drop_stream_chunk"}, {"probability", 0.02}});
        add({{"route", "stream"}, {"kind", "end_job"}, {"job_status", "TIMED_OUT"}, {"probability", 0.005}});
        add({{"route", generate_route}, {"kind", "status"}, {"status", 401}, {"error_id", "worker_unauthorized"},
             {"probability", 0.02}});
    }
    add({{"route", generate_route}, {"kind", "status"}, {"status", 503}, {"error_id", "worker_starting"},
         {"retry_after", "1"}, {"probability", 0.02}});
    if (!segment.websocket) {
        // Over WebSocket SwarmUI reports a bad session in a message, and the session
        // invalidations cover that. Only the HTTP route replies with a 401.
        add({{"route", generate_route}, {"kind", "status"}, {"status", 401}, {"error_id", "invalid_session_id"},
             {"probability", 0.03}});
    }
    add({{"route", generate_route}, {"kind", "worker_death"}, {"probability", 0.02}});
    add({{"route", generate_route}, {"kind", "reset"}, {"probability", 0.01}});
    add({{"route", generate_route}, {"kind", "slow"}, {"delay_ms", 800}, {"probability", 0.01}});
    add({{"route", "image"}, {"kind", "corrupt_image"}, {"probability", 0.01}});
    add({{"route", "image"}, {"kind", "truncate_image"}, {"probability", 0.01}});
    return rules;
}

std::string rule_name(const json& rule) {
    std::string name = rule.at("route").get<std::string>() + " " + rule.at("kind").get<std::string>();
    const std::string kind = rule.at("kind");
    if (kind == "status") {
        name += " " + std::to_string(rule.at("status").get<int>());
        if (rule.value("html", false)) name += " html";
        if (!rule.value("retry_after", std::string()).empty()) name += " retry-after";
        if (!rule.value("error_id", std::string()).empty()) name += " " + rule.value("error_id", std::string());
    } else if (kind == "end_job") {
        name += " " + rule.value("job_status", std::string());
    } else if (kind == "slow") {
        name += " " + std::to_string(rule.value("delay_ms", 0)) + " ms";
    }
    return name;
}

// A rule without a count never counts down, so each rule gets this large count and the number
// it fired is the budget minus the count the emulator reports as remaining.
constexpr int kRuleBudget = 1000000;

void add_fired(std::map<std::string, int>& fired, const json& configured, const json& remaining) {
    for (std::size_t i = 0; i < configured.size() && i < remaining.size(); ++i) {
        fired[rule_name(configured[i])] += kRuleBudget - remaining[i].value("count", kRuleBudget);
    }
}

// ------------------------------------------------------------------ run

struct Collected {
    std::vector<std::pair<int, std::string>> images;
};

int32_t on_image(void* user_data, const swarmpod_image* image) {
    auto* collected = static_cast<Collected*>(user_data);
    collected->images.emplace_back(image->batch_index, hex16(fnv1a64(image->data, image->size)));
    return 0;
}

struct RunResult {
    std::vector<Outcome> outcomes;
    std::map<std::string, int> fired;
    int session_invalidations = 0;
    int restarts = 0;
    double billed_seconds = 0;
    int workers_started = 0;
    int proxy_cut_candidates = 0; // HTTP generations of 4 images in the fault run
    int hangs = 0;
    int leaked_jobs = 0;
    std::set<std::string> ledger_hashes;        // every image hash the emulators sent
    std::map<std::string, std::string> damaged_hashes; // hash -> the fault kind that changed those bytes
    double injected_delay_seconds = 0;
};

void absorb_ledger(RunResult& result, const json& ledger) {
    for (const auto& image : ledger.at("images")) {
        const std::string hash = image.at("fnv1a64");
        result.ledger_hashes.insert(hash);
        const std::string damage = image.value("damage", std::string());
        if (!damage.empty()) result.damaged_hashes[hash] = damage;
    }
    result.billed_seconds += ledger.at("total_billed_seconds").get<double>();
    result.workers_started += static_cast<int>(ledger.at("workers").size());
}

std::string backend_config(const Emulator& emulator, const Segment& segment, const Options& options,
                           const std::string& cache_dir) {
    return json{{"EndpointId", "test-endpoint"},
                {"RunPodApiKey", "test-key"},
                {"ApiBaseUrl", "http://127.0.0.1:" + std::to_string(emulator.port()) + "/v2"},
                {"AllowInsecureWorkerUrls", true},
                {"StartupTimeoutSec", kStartupTimeoutSec},
                {"GenerationTimeoutSec", kGenerationTimeoutSec},
                {"PollIntervalMs", 100},
                {"MaxConcurrent", options.max_concurrent},
                {"KeepWarmSec", 5},
                {"WorkerProtocol", segment.protocol},
                {"UseWebSocket", segment.websocket},
                {"ModelCachePath", cache_dir}}
        .dump();
}

// Runs one segment of the trace; with `faulty`, under fault rules, session invalidations and
// emulator restarts at random moments drawn from `random`.
void run_segment(const Options& options, const Segment& segment, const std::vector<Generation>& trace, bool faulty,
                 std::mt19937_64& random, RunResult& result) {
    std::vector<std::string> args = {"--protocol",       segment.protocol,
                                     "--cold-start-ms",  std::to_string(kColdStartMs),
                                     "--generation-ms",  std::to_string(kGenerationMs),
                                     "--steps-per-image", "3",
                                     "--keepalive-ms",   "50",
                                     "--idle-timeout-ms", "2000",
                                     "--max-workers",    "4"};
    if (faulty && !segment.websocket) {
        args.push_back("--proxy-cut-ms");
        args.push_back(std::to_string(kProxyCutMs));
    }
    if (faulty && !segment.websocket) {
        for (int i = 0; i < segment.count; ++i) {
            if (trace[static_cast<std::size_t>(segment.first + i)].images * kGenerationMs > kProxyCutMs) {
                result.proxy_cut_candidates += 1;
            }
        }
    }
    Emulator emulator(options.emulator, args);
    emulator.start(0);
    const json rules = faulty ? fault_rules(segment) : json::array();
    json budgeted = rules;
    for (auto& rule : budgeted) rule["count"] = kRuleBudget;
    emulator.post("/admin/faults", budgeted.dump());

    const std::string cache_dir =
        (std::filesystem::temp_directory_path() / ("swarmpod-soak-" + std::to_string(getpid()))).string();
    std::filesystem::create_directories(cache_dir);

    swarmpod_backend* backend = nullptr;
    if (swarmpod_backend_new(backend_config(emulator, segment, options, cache_dir).c_str(), &backend) != SWARMPOD_OK) {
        throw std::runtime_error(std::string("swarmpod_backend_new failed: ") + swarmpod_last_error_message());
    }

    // Restart and invalidation moments, as generation counts started within the segment.
    std::set<int> restart_at;
    std::set<int> invalidate_at;
    if (faulty) {
        for (int i = 0; i < options.restarts && segment.count > 4; ++i) {
            restart_at.insert(1 + static_cast<int>(random() % static_cast<unsigned>(segment.count - 2)));
        }
        const int invalidations = std::max(1, segment.count / 40);
        for (int i = 0; i < invalidations; ++i) {
            invalidate_at.insert(static_cast<int>(random() % static_cast<unsigned>(segment.count)));
        }
    }

    std::mutex mutex;
    std::condition_variable restarted;
    int next = 0;
    bool restarting = false;
    std::atomic<int> in_flight{0};
    // A generation overlaps a restart when it was running while the emulator process changed.
    std::vector<int> restart_epoch_at_start(static_cast<std::size_t>(segment.count), 0);
    std::atomic<int> restart_epoch{0};
    const double call_limit = kGenerationTimeoutSec + kStartupTimeoutSec;

    auto worker = [&]() {
        for (;;) {
            int local = 0;
            {
                std::unique_lock<std::mutex> lock(mutex);
                restarted.wait(lock, [&] { return !restarting; });
                if (next >= segment.count) return;
                local = next++;
                if (restart_at.count(local) != 0) {
                    // Snapshot the old process, kill it and start a new one on the same port
                    // while generations are in flight.
                    restarting = true;
                    lock.unlock();
                    json remaining = emulator.get("/admin/faults");
                    add_fired(result.fired, rules, remaining);
                    json ledger = emulator.get("/admin/ledger");
                    const int port = emulator.port();
                    emulator.kill_now();
                    restart_epoch.fetch_add(1);
                    {
                        std::lock_guard<std::mutex> result_lock(mutex);
                        absorb_ledger(result, ledger);
                        result.restarts += 1;
                    }
                    std::this_thread::sleep_for(std::chrono::milliseconds(300));
                    emulator.start(port);
                    emulator.post("/admin/faults", budgeted.dump());
                    lock.lock();
                    restarting = false;
                    restarted.notify_all();
                }
                if (invalidate_at.count(local) != 0) {
                    emulator.post("/admin/invalidate-sessions", "{}");
                    result.session_invalidations += 1;
                }
            }
            const Generation& generation = trace[static_cast<std::size_t>(segment.first + local)];
            restart_epoch_at_start[static_cast<std::size_t>(local)] = restart_epoch.load();
            Collected collected;
            swarmpod_callbacks callbacks{};
            callbacks.struct_size = sizeof callbacks;
            callbacks.on_image = &on_image;
            callbacks.user_data = &collected;
            swarmpod_generation* handle = nullptr;
            swarmpod_generation_new(&handle);

            // Watchdog: a call that outlives its deadline plus grace is a hang and is cancelled.
            // If even that does not end it, the run ends at once.
            std::atomic<bool> done{false};
            std::atomic<bool> hung{false};
            std::thread watchdog([&]() {
                const auto start = Clock::now();
                while (!done.load()) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(50));
                    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
                    if (elapsed > call_limit + kWatchdogGraceSec && !hung.exchange(true)) {
                        std::fprintf(stderr, "HANG: generation %d still running after %.0f s; cancelling\n",
                                     generation.index, elapsed);
                        swarmpod_generation_cancel(handle);
                    }
                    if (elapsed > call_limit + 2 * kWatchdogGraceSec) {
                        std::fprintf(stderr, "HANG: generation %d ignored its cancellation; exiting\n",
                                     generation.index);
                        std::_Exit(1);
                    }
                }
            });
            in_flight.fetch_add(1);
            const auto start = Clock::now();
            Outcome outcome;
            outcome.status = swarmpod_generate(backend, generation.request.c_str(), nullptr, handle, &callbacks,
                                               nullptr);
            outcome.message = swarmpod_last_error_message();
            outcome.seconds = std::chrono::duration<double>(Clock::now() - start).count();
            in_flight.fetch_sub(1);
            done.store(true);
            watchdog.join();
            swarmpod_generation_free(handle);
            outcome.images = std::move(collected.images);
            outcome.overlapped_restart = restart_epoch.load() != restart_epoch_at_start[static_cast<std::size_t>(local)];
            std::lock_guard<std::mutex> lock(mutex);
            if (hung.load()) result.hangs += 1;
            result.outcomes[static_cast<std::size_t>(generation.index)] = std::move(outcome);
        }
    };
    std::vector<std::thread> threads;
    for (int i = 0; i < options.threads; ++i) threads.emplace_back(worker);
    for (auto& thread : threads) thread.join();

    swarmpod_backend_free(backend);

    // The backend is gone: no job it started may still run or wait. A cancelled job's worker
    // stops after --cancel-stop-ms, so the check waits briefly for the counts to settle.
    json ledger = emulator.get("/admin/ledger");
    const auto until = Clock::now() + std::chrono::seconds(2);
    while ((ledger.at("running_jobs").get<int>() + ledger.at("queued_jobs").get<int>()) > 0 && Clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        ledger = emulator.get("/admin/ledger");
    }
    const int leaked = ledger.at("running_jobs").get<int>() + ledger.at("queued_jobs").get<int>();
    if (leaked > 0) {
        std::fprintf(stderr, "LEAK: segment %s/%s left %d running or queued jobs: %s\n", segment.protocol.c_str(),
                     segment.websocket ? "ws" : "http", leaked, ledger.at("jobs").dump().c_str());
    }
    result.leaked_jobs += leaked;

    // Workers without a job stop after the idle timeout; billing is read once they have.
    ledger = emulator.wait_for_idle();
    add_fired(result.fired, rules, emulator.get("/admin/faults"));
    absorb_ledger(result, ledger);
    std::filesystem::remove_all(cache_dir);
}

}  // namespace

namespace {

void usage_error(const std::string& message) {
    std::fprintf(stderr,
                 "fault_soak: %s\n"
                 "usage: fault_soak [--generations N] [--seed S] [--threads N] [--max-concurrent N]\n"
                 "                  [--restarts N] [--emulator PATH]\n",
                 message.c_str());
    std::exit(2);
}

Options parse_options(int argc, char** argv) {
    Options options;
    options.seed = std::random_device{}();
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (i + 1 >= argc) usage_error("missing value for " + flag);
        const std::string value = argv[++i];
        try {
            if (flag == "--generations") options.generations = std::stoi(value);
            else if (flag == "--seed") options.seed = std::stoull(value);
            else if (flag == "--threads") options.threads = std::stoi(value);
            else if (flag == "--max-concurrent") options.max_concurrent = std::stoi(value);
            else if (flag == "--restarts") options.restarts = std::stoi(value);
            else if (flag == "--emulator") options.emulator = value;
            else usage_error("unknown option " + flag);
        } catch (const std::logic_error&) {
            usage_error("invalid value '" + value + "' for " + flag);
        }
    }
    if (options.generations < 8) usage_error("--generations must be at least 8");
    if (options.threads < 1 || options.max_concurrent < 1) usage_error("--threads and --max-concurrent must be >= 1");
    return options;
}

// v2 over WebSocket carries most of the trace; v2 over HTTP, v1 over WebSocket and v1 over
// HTTP a tenth to a sixth each.
std::vector<Segment> make_segments(int generations) {
    const int v2_http = generations / 6;
    const int v1_ws = generations / 10;
    const int v1_http = generations / 10;
    const int v2_ws = generations - v2_http - v1_ws - v1_http;
    std::vector<Segment> segments = {{"v2", true, 0, v2_ws}, {"v2", false, 0, v2_http},
                                     {"v1", true, 0, v1_ws}, {"v1", false, 0, v1_http}};
    int first = 0;
    for (auto& segment : segments) {
        segment.first = first;
        first += segment.count;
    }
    return segments;
}

RunResult run_all(const Options& options, const std::vector<Segment>& segments, const std::vector<Generation>& trace,
                  bool faulty) {
    RunResult result;
    result.outcomes.resize(trace.size());
    std::mt19937_64 random(options.seed ^ 0x5eedf00dULL);
    for (const auto& segment : segments) {
        const auto start = Clock::now();
        run_segment(options, segment, trace, faulty, random, result);
        std::printf("  %s segment %s/%s: %d generations in %.1f s\n", faulty ? "fault" : "baseline",
                    segment.protocol.c_str(), segment.websocket ? "websocket" : "http", segment.count,
                    std::chrono::duration<double>(Clock::now() - start).count());
        std::fflush(stdout);
    }
    return result;
}

}  // namespace

int main(int argc, char** argv) {
    const Options options = parse_options(argc, argv);
    std::printf("fault soak: seed %llu, %d generations, %d threads, MaxConcurrent %d, %d restart(s) per segment\n",
                static_cast<unsigned long long>(options.seed), options.generations, options.threads,
                options.max_concurrent, options.restarts);
    std::printf("reproduce: fault_soak --seed %llu --generations %d --threads %d --max-concurrent %d --restarts %d\n",
                static_cast<unsigned long long>(options.seed), options.generations, options.threads,
                options.max_concurrent, options.restarts);
    std::fflush(stdout);
    const auto segments = make_segments(options.generations);
    const auto trace = make_trace(options, segments);

    std::vector<std::string> failures;
    RunResult baseline;
    RunResult faulty;
    try {
        baseline = run_all(options, segments, trace, false);
        faulty = run_all(options, segments, trace, true);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "fault soak aborted: %s\n", error.what());
        return 1;
    }

    // The baseline must deliver every image with a hash the emulator recorded. Because the
    // images are deterministic, those hashes are the expected images of the fault run.
    std::vector<std::map<int, std::string>> expected(trace.size());
    for (std::size_t i = 0; i < trace.size(); ++i) {
        const Outcome& outcome = baseline.outcomes[i];
        if (outcome.status != SWARMPOD_OK || static_cast<int>(outcome.images.size()) != trace[i].images) {
            failures.push_back("baseline generation " + std::to_string(i) + " failed: status " +
                               std::to_string(outcome.status) + " (" + outcome.message + "), " +
                               std::to_string(outcome.images.size()) + " images");
            continue;
        }
        for (const auto& [batch, hash] : outcome.images) {
            if (baseline.ledger_hashes.count(hash) == 0) {
                failures.push_back("baseline generation " + std::to_string(i) + " image " + std::to_string(batch) +
                                   " has a hash the emulator never sent: " + hash);
            }
            expected[i][batch] = hash;
        }
    }

    std::map<std::string, int> errors_by_status;
    int successes = 0;
    int matched_across_restart = 0;
    int corrupt_delivered = 0;
    int corrupt_successes = 0; // returned OK with a corrupt_image image among its images
    const double call_limit = kGenerationTimeoutSec + kStartupTimeoutSec;
    for (std::size_t i = 0; i < trace.size(); ++i) {
        const Outcome& outcome = faulty.outcomes[i];
        const std::string id = "generation " + std::to_string(i);
        if (outcome.seconds > call_limit) {
            failures.push_back(id + " took " + std::to_string(outcome.seconds) + " s, over the " +
                               std::to_string(call_limit) + " s limit (status " + std::to_string(outcome.status) + ")");
        }
        if (outcome.status != SWARMPOD_OK) {
            errors_by_status[swarmpod_strerror(outcome.status)] += 1;
            if (outcome.status == SWARMPOD_E_INTERNAL || outcome.status > 0) {
                failures.push_back(id + " failed with unspecific status " + std::to_string(outcome.status) + ": " +
                                   outcome.message);
            }
            for (const auto& [batch, hash] : outcome.images) {
                if (faulty.damaged_hashes.count(hash) != 0) {
                    failures.push_back(id + " delivered damaged image " + std::to_string(batch) + " before failing");
                }
            }
            continue;
        }
        bool ok = static_cast<int>(outcome.images.size()) == trace[i].images;
        if (!ok) {
            failures.push_back(id + " returned OK with " + std::to_string(outcome.images.size()) + " images, expected " +
                               std::to_string(trace[i].images));
        }
        std::set<int> seen;
        bool corrupt = false;
        for (const auto& [batch, hash] : outcome.images) {
            if (!seen.insert(batch).second) {
                failures.push_back(id + " delivered batch index " + std::to_string(batch) + " twice");
                ok = false;
            }
            const auto want = expected[i].find(batch);
            const auto damage = faulty.damaged_hashes.find(hash);
            if (damage != faulty.damaged_hashes.end() && damage->second == "corrupt_image") {
                // NOTE: one flipped byte inside a PNG IDAT chunk keeps the chunk structure intact,
                // and the library does not verify chunk CRCs, so it delivers such an image. These
                // are the bytes the emulator sent (the ledger has their hash), so they are counted
                // and reported, not failed. A truncated image must still be rejected.
                corrupt_delivered += 1;
                corrupt = true;
            } else if (want == expected[i].end() || want->second != hash) {
                failures.push_back(id + " returned OK with image " + std::to_string(batch) + " (" + hash + ") " +
                                   (damage != faulty.damaged_hashes.end()
                                        ? "damaged by a " + damage->second + " fault"
                                        : "that differs from the image the emulator made"));
                ok = false;
            } else if (faulty.ledger_hashes.count(hash) == 0) {
                // The ledger of a killed emulator process is read just before the kill, so an
                // image sent in the last moments before it is missing there but still matches.
                if (outcome.overlapped_restart) {
                    matched_across_restart += 1;
                } else {
                    failures.push_back(id + " image " + std::to_string(batch) + " is not in the emulator ledger");
                    ok = false;
                }
            }
        }
        if (ok && !corrupt) {
            successes += 1;
        } else if (ok) {
            corrupt_successes += 1;
        }
    }

    int total_fired = 0;
    double injected_delay = 0;
    for (const auto& [name, count] : faulty.fired) {
        total_fired += count;
        if (name.find("slow") != std::string::npos) {
            injected_delay += count * std::stod(name.substr(name.rfind("slow") + 5));
        } else if (name.find("retry-after") != std::string::npos || name.find("worker_starting") != std::string::npos) {
            injected_delay += count * 1000.0;
        }
    }
    injected_delay /= 1000.0;
    // A fault that destroys a worker (its death, a job ended under it, an emulator
    // restart) forces a replacement whose boot, idle tail and keep-warm time bill again,
    // plus up to one second of RunPod's per-second rounding. That is injected cost too.
    int destroyed_workers = faulty.restarts;
    for (const auto& [name, count] : faulty.fired) {
        if (name.find("worker_death") != std::string::npos || name.find("end_job") != std::string::npos) {
            destroyed_workers += count;
        }
    }
    const double per_replacement = kColdStartMs / 1000.0 + 2.0 /* --idle-timeout-ms */ + 5.0 /* KeepWarmSec */ + 1.0;
    injected_delay += destroyed_workers * per_replacement;
    const double allowance = baseline.billed_seconds * 1.10 + injected_delay;
    if (faulty.billed_seconds > allowance) {
        failures.push_back("billed " + std::to_string(faulty.billed_seconds) + " GPU-s under faults, over the allowance " +
                           std::to_string(allowance) + " (baseline " + std::to_string(baseline.billed_seconds) +
                           " x 1.1 + injected delays " + std::to_string(injected_delay) + ")");
    }
    if (faulty.hangs > 0 || baseline.hangs > 0) failures.push_back("hung calls: " + std::to_string(faulty.hangs + baseline.hangs));
    if (faulty.leaked_jobs > 0 || baseline.leaked_jobs > 0) {
        failures.push_back("leaked jobs: " + std::to_string(faulty.leaked_jobs + baseline.leaked_jobs));
    }

    std::printf("\nfault soak summary (seed %llu)\n", static_cast<unsigned long long>(options.seed));
    std::printf("  generations:               %zu\n", trace.size());
    std::printf("  faults fired:              %d (%.1f per 100 generations)\n", total_fired,
                100.0 * total_fired / static_cast<double>(trace.size()));
    for (const auto& [name, count] : faulty.fired) std::printf("    %-52s %d\n", name.c_str(), count);
    std::printf("    %-52s %d\n", "proxy cut (HTTP generation of 4 images)", faulty.proxy_cut_candidates);
    std::printf("    %-52s %d\n", "emulator restart (same port)", faulty.restarts);
    std::printf("    %-52s %d\n", "session invalidation (all workers)", faulty.session_invalidations);
    std::printf("  successes:                 %d (%d image(s) matched the baseline across a restart)\n", successes,
                matched_across_restart);
    std::printf("  OK with a corrupt image:   %d generation(s), %d image(s) (a flipped IDAT byte, not detected)\n",
                corrupt_successes, corrupt_delivered);
    std::printf("  errors by status:\n");
    for (const auto& [name, count] : errors_by_status) std::printf("    %-52s %d\n", name.c_str(), count);
    // Messages differ in ports and ids; their first 48 characters group them by cause.
    std::map<std::string, std::pair<int, std::size_t>> causes; // prefix -> (count, first generation)
    for (std::size_t i = 0; i < trace.size(); ++i) {
        const Outcome& outcome = faulty.outcomes[i];
        if (outcome.status == SWARMPOD_OK) continue;
        auto& cause = causes[std::string(swarmpod_strerror(outcome.status)) + ": " + outcome.message.substr(0, 48)];
        if (cause.first++ == 0) cause.second = i;
    }
    std::printf("  errors by cause (count, then the first generation's message):\n");
    for (const auto& [prefix, cause] : causes) {
        const Outcome& outcome = faulty.outcomes[cause.second];
        std::printf("    %4d x %s: %s\n", cause.first, swarmpod_strerror(outcome.status), outcome.message.c_str());
    }
    std::printf("  hangs:                     %d\n", faulty.hangs + baseline.hangs);
    std::printf("  leaked jobs:               %d\n", faulty.leaked_jobs + baseline.leaked_jobs);
    std::printf("  billed GPU-seconds:        %.0f under faults, %.0f baseline, allowance %.1f (injected delays and "
                "replacement workers %.1f s)\n",
                faulty.billed_seconds, baseline.billed_seconds, allowance, injected_delay);
    std::printf("  workers started:           %d under faults, %d baseline\n", faulty.workers_started,
                baseline.workers_started);
    double faulty_call_seconds = 0;
    double baseline_call_seconds = 0;
    for (std::size_t i = 0; i < trace.size(); ++i) {
        faulty_call_seconds += faulty.outcomes[i].seconds;
        baseline_call_seconds += baseline.outcomes[i].seconds;
    }
    std::printf("  generate call seconds:     %.1f under faults, %.1f baseline (sum over calls)\n", faulty_call_seconds,
                baseline_call_seconds);
    if (failures.empty()) {
        std::printf("PASS\n");
        return 0;
    }
    std::printf("FAIL: %zu condition(s)\n", failures.size());
    for (const auto& failure : failures) std::printf("  %s\n", failure.c_str());
    return 1;
}
