#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace ib::testing {

/// PEM files of a throwaway PKI made with the `openssl` CLI, for TLS failure tests.
struct TlsPki {
  std::filesystem::path ca;  ///< the CA clients are told to trust
  /// Certificate + key for `localhost` / 127.0.0.1, signed by `ca`: verifies.
  std::filesystem::path good_cert, good_key;
  /// For `localhost` / 127.0.0.1 but signed by an unrelated CA: "unable to get local issuer certificate".
  std::filesystem::path untrusted_cert, untrusted_key;
  /// Signed by `ca` for `d365.other.example` only: "hostname mismatch" at localhost,
  /// "IP address mismatch" at 127.0.0.1.
  std::filesystem::path other_host_cert, other_host_key;
};

/// Makes the files in `dir` (about a second of openssl). Throws when openssl fails.
inline TlsPki make_tls_pki(const std::filesystem::path& dir) {
  const std::string d = dir.string();
  auto sh = [](const std::string& cmd) {
    if (std::system((cmd + " >/dev/null 2>&1").c_str()) != 0) throw std::runtime_error("failed: " + cmd);
  };
  auto ca = [&](const std::string& name) {
    sh("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=" + name + " -keyout " + d + "/" + name +
       ".key -out " + d + "/" + name + ".pem");
  };
  auto leaf = [&](const std::string& name, const std::string& ca_name, const std::string& san) {
    sh("openssl req -newkey rsa:2048 -nodes -subj /CN=" + name + " -keyout " + d + "/" + name + ".key -out " + d +
       "/" + name + ".csr");
    // Written here, not with a shell redirection: sh() sends stdout to /dev/null.
    std::ofstream(dir / (name + ".cnf")) << "subjectAltName=" << san << "\nbasicConstraints=CA:FALSE\n";
    sh("openssl x509 -req -in " + d + "/" + name + ".csr -CA " + d + "/" + ca_name + ".pem -CAkey " + d + "/" +
       ca_name + ".key -CAcreateserial -days 2 -extfile " + d + "/" + name + ".cnf -out " + d + "/" + name + ".pem");
  };
  ca("trusted-ca");
  ca("rogue-ca");
  leaf("good", "trusted-ca", "DNS:localhost,IP:127.0.0.1");
  leaf("untrusted", "rogue-ca", "DNS:localhost,IP:127.0.0.1");
  leaf("other-host", "trusted-ca", "DNS:d365.other.example");
  TlsPki p;
  p.ca = dir / "trusted-ca.pem";
  p.good_cert = dir / "good.pem";
  p.good_key = dir / "good.key";
  p.untrusted_cert = dir / "untrusted.pem";
  p.untrusted_key = dir / "untrusted.key";
  p.other_host_cert = dir / "other-host.pem";
  p.other_host_key = dir / "other-host.key";
  return p;
}

}  // namespace ib::testing
