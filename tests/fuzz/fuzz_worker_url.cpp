// worker::check_worker_url on any URL a worker may report, under both policies. An
// accepted URL must keep the allow-list's promises: no credentials, no query or
// fragment, https to a RunPod proxy host unless loopback was allowed.
#include <cctype>
#include <cstdlib>
#include <string>

#include "core/error.hpp"
#include "worker/url_policy.hpp"

namespace {

void check_accepted(const std::string& url, bool allow_loopback) {
    // '@' is allowed in the path; only the authority must be free of credentials.
    const std::size_t scheme_end = url.find("://");
    if (scheme_end == std::string::npos) std::abort();
    const std::string authority = url.substr(scheme_end + 3, url.find('/', scheme_end + 3) - (scheme_end + 3));
    if (authority.find('@') != std::string::npos || url.find('?') != std::string::npos ||
        url.find('#') != std::string::npos) {
        std::abort();
    }
    const bool https = url.rfind("https://", 0) == 0;
    if (!https && !(allow_loopback && url.rfind("http://", 0) == 0)) std::abort();
    if (!allow_loopback) {
        const std::string rest = url.substr(8);
        const std::string authority = rest.substr(0, rest.find('/'));
        std::string host = authority.substr(0, authority.rfind(':'));
        for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const std::string suffix = ".proxy.runpod.net";
        if (host.size() <= suffix.size() || host.compare(host.size() - suffix.size(), suffix.size(), suffix) != 0) {
            std::abort();
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const std::string url(reinterpret_cast<const char*>(data), size);
    for (const bool allow_loopback : {false, true}) {
        swarmpod::worker::UrlPolicy policy;
        policy.allow_insecure_loopback = allow_loopback;
        try {
            check_accepted(swarmpod::worker::check_worker_url(url, policy), allow_loopback);
        } catch (const swarmpod::Error& error) {
            if (error.status() != swarmpod::Status::worker_url_rejected) std::abort();
        }
    }
    return 0;
}
