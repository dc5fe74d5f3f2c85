// A self-signed certificate for 127.0.0.1, made with the openssl tool at test time.
#pragma once

#include <string>

namespace swarmpod::testing {

struct SelfSignedCertificate {
    bool ready = false;  // false when the openssl tool is missing or failed
    std::string directory;
    std::string certificate_path;  // PEM
    std::string key_path;          // PEM, unencrypted
};

// Writes cert.pem and key.pem to a fresh folder under the test temp directory named after
// `label` and the process id. The certificate names only the IP address 127.0.0.1 (not
// "localhost") and is valid for one day.
SelfSignedCertificate make_self_signed_certificate(const std::string& label);

// Removes the folder of `certificate`; an empty one is a no-op.
void remove_self_signed_certificate(const SelfSignedCertificate& certificate);

}  // namespace swarmpod::testing
