#include "worker/url_policy.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "core/error.hpp"
#include "core/host.hpp"

namespace swarmpod::worker {
namespace {

constexpr const char* kRunPodProxySuffix = ".proxy.runpod.net";

[[noreturn]] void reject(const std::string& shown_url, const std::string& reason) {
    throw Error(Status::worker_url_rejected,
                "The worker reported the URL '" + shown_url + "', which is not allowed: " + reason +
                    " Nothing was sent to it. Check that the endpoint runs a SwarmUI worker image and exposes port "
                    "7801 as HTTP.");
}

// The URL as shown in a message: control bytes escaped so a log line stays one line.
std::string shown_printable(const std::string& url) {
    std::string out;
    for (unsigned char c : url) {
        if (c < 0x20 || c == 0x7f) {
            char escaped[5];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
            out += escaped;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

bool is_lower_alnum_or_dash(const std::string& text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isalnum(c) || c == '-'; });
}

}  // namespace

std::string check_worker_url(const std::string& url, const UrlPolicy& policy) {
    // Shown in messages: cut at '@' so credentials never reach a log or an error.
    std::string shown = url.substr(0, 200);
    if (auto at = shown.find('@'); at != std::string::npos) shown = "<credentials removed>" + shown.substr(at);

    // curl stops at a NUL and treats spaces and control bytes its own way, so what is
    // checked here could differ from what would be sent.
    for (unsigned char c : url) {
        if (c <= 0x20 || c == 0x7f) reject(shown_printable(shown), "it contains a space or a control character.");
    }

    std::string scheme;
    if (url.rfind("https://", 0) == 0) scheme = "https";
    else if (url.rfind("http://", 0) == 0) scheme = "http";
    else reject(shown, "it must start with https://.");

    std::string rest = url.substr(scheme.size() + 3);
    const auto path_start = rest.find_first_of("/?#");
    std::string authority = rest.substr(0, path_start);
    std::string path = path_start == std::string::npos ? "" : rest.substr(path_start);

    if (authority.find('@') != std::string::npos) reject(shown, "it contains credentials.");
    if (path.find_first_of("?#") != std::string::npos) reject(shown, "it contains a query or fragment.");
    if (authority.empty()) reject(shown, "it has no host.");

    std::string host = authority;
    std::string port;
    if (host.front() == '[') {
        const auto close = host.find(']');
        if (close == std::string::npos) reject(shown, "its IPv6 host is malformed.");
        port = host.substr(close + 1);
        host = host.substr(0, close + 1);
    } else if (auto colon = host.rfind(':'); colon != std::string::npos) {
        port = host.substr(colon);
        host = host.substr(0, colon);
    }
    if (!port.empty()) {
        if (port.size() < 2 || port[0] != ':' ||
            !std::all_of(port.begin() + 1, port.end(), [](unsigned char c) { return std::isdigit(c); })) {
            reject(shown, "its port is malformed.");
        }
    }
    std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return char(std::tolower(c)); });

    if (scheme == "http") {
        if (!policy.allow_insecure_loopback || !is_loopback_host(host)) {
            reject(shown, policy.allow_insecure_loopback
                              ? "plain http:// is accepted only on loopback (127.0.0.1, ::1, localhost)."
                              : "plain http:// is not accepted; RunPod workers are reached over https:// "
                                "(AllowInsecureWorkerUrls accepts loopback URLs for local testing only).");
        }
    } else {
        const bool runpod_proxy = host.size() > std::char_traits<char>::length(kRunPodProxySuffix) &&
                                  host.compare(host.size() - std::char_traits<char>::length(kRunPodProxySuffix),
                                               std::string::npos, kRunPodProxySuffix) == 0 &&
                                  is_lower_alnum_or_dash(host.substr(0, host.size() - std::char_traits<char>::length(
                                                                                      kRunPodProxySuffix)));
        const bool allowed_loopback = policy.allow_insecure_loopback && is_loopback_host(host);
        if (!runpod_proxy && !allowed_loopback) {
            reject(shown, "its host '" + host + "' is not a RunPod proxy host (<pod id>-<port>.proxy.runpod.net).");
        }
    }

    std::string normalised = scheme + "://" + authority + path;
    while (!normalised.empty() && normalised.back() == '/') normalised.pop_back();
    return normalised;
}

}  // namespace swarmpod::worker
