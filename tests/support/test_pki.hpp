// A throwaway certificate authority for TLS tests, made at run time with OpenSSL: a CA
// certificate and server certificates it signs, written as PEM files into a temporary directory.
#pragma once

#include "tests/support/kiln_process.hpp"

#include <string>

namespace kiln::test {

struct issued_cert {
  std::string cert_file;  ///< PEM certificate
  std::string key_file;   ///< PEM private key (unencrypted)
};

class test_pki {
public:
  /// Generates the CA (P-256 key, self-signed, valid from an hour ago for a day).
  test_pki();
  ~test_pki();
  test_pki(const test_pki&) = delete;
  test_pki& operator=(const test_pki&) = delete;

  /// The CA certificate, to trust.
  const std::string& ca_file() const { return ca_file_; }
  /// A server certificate signed by this CA for `subject_alt_names` in OpenSSL's config syntax,
  /// e.g. "IP:127.0.0.1,DNS:localhost"; `name` names its files.
  issued_cert issue(const std::string& name, const std::string& subject_alt_names);

  struct keys;  ///< OpenSSL objects, defined in test_pki.cpp

private:
  temp_dir dir_;
  std::string ca_file_;
  keys* keys_ = nullptr;
};

}  // namespace kiln::test
