#include "integration/self_signed.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace swarmpod::testing {

SelfSignedCertificate make_self_signed_certificate(const std::string& label) {
    SelfSignedCertificate certificate;
    if (std::system("command -v openssl >/dev/null 2>&1") != 0) return certificate;
    certificate.directory = ::testing::TempDir() + "swarmpod-" + label + "-" + std::to_string(::getpid());
    std::filesystem::create_directories(certificate.directory);
    certificate.certificate_path = certificate.directory + "/cert.pem";
    certificate.key_path = certificate.directory + "/key.pem";
    const std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1"
        " -addext subjectAltName=IP:127.0.0.1 -keyout " +
        certificate.key_path + " -out " + certificate.certificate_path + " >/dev/null 2>&1";
    certificate.ready = std::system(command.c_str()) == 0;
    return certificate;
}

void remove_self_signed_certificate(const SelfSignedCertificate& certificate) {
    if (certificate.directory.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(certificate.directory, ignored);
}

}  // namespace swarmpod::testing
