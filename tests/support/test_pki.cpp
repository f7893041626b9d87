// The test CA with OpenSSL 3: EVP_EC_gen keys, X509 built field by field, X509V3 extensions
// from their config strings, PEM written with the PEM_write_bio_* calls.
#include "tests/support/test_pki.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace kiln::test {

struct test_pki::keys {
  EVP_PKEY* ca_key = nullptr;
  X509* ca_cert = nullptr;
};

namespace {

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test_pki: ") + what + " failed");
}

EVP_PKEY* new_key() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  check(key != nullptr, "EVP_EC_gen");
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  check(extension != nullptr, "X509V3_EXT_conf_nid");
  check(X509_add_ext(cert, extension, -1) == 1, "X509_add_ext");
  X509_EXTENSION_free(extension);
}

/// A certificate for `key` named `common_name`, without extensions or signature yet.
X509* new_cert(EVP_PKEY* key, const std::string& common_name) {
  X509* cert = X509_new();
  check(cert != nullptr, "X509_new");
  X509_set_version(cert, 2);  // v3
  unsigned char serial[16];
  check(RAND_bytes(serial, sizeof serial) == 1, "RAND_bytes");
  serial[0] &= 0x7f;  // positive
  BIGNUM* number = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(number, X509_get_serialNumber(cert));
  BN_free(number);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Kiln tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  return cert;
}

void write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
  BIO* out = BIO_new_file(path.c_str(), "w");
  check(out != nullptr, "BIO_new_file");
  bool ok = cert ? PEM_write_bio_X509(out, cert) == 1
                 : PEM_write_bio_PrivateKey(out, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  BIO_free(out);
  check(ok, "PEM_write_bio");
}

}  // namespace

test_pki::test_pki() : keys_(new keys) {
  keys_->ca_key = new_key();
  X509* ca = keys_->ca_cert = new_cert(keys_->ca_key, "Kiln test CA");
  check(X509_set_issuer_name(ca, X509_get_subject_name(ca)) == 1, "X509_set_issuer_name");
  add_extension(ca, ca, NID_basic_constraints, "critical,CA:TRUE");
  add_extension(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(ca, ca, NID_subject_key_identifier, "hash");
  check(X509_sign(ca, keys_->ca_key, EVP_sha256()) > 0, "X509_sign (CA)");
  ca_file_ = dir_ / "ca.pem";
  write_pem(ca_file_, ca, nullptr);
}

test_pki::~test_pki() {
  X509_free(keys_->ca_cert);
  EVP_PKEY_free(keys_->ca_key);
  delete keys_;
}

issued_cert test_pki::issue(const std::string& name, const std::string& subject_alt_names) {
  EVP_PKEY* key = new_key();
  X509* cert = new_cert(key, name);
  check(X509_set_issuer_name(cert, X509_get_subject_name(keys_->ca_cert)) == 1,
        "X509_set_issuer_name");
  add_extension(cert, keys_->ca_cert, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert, keys_->ca_cert, NID_key_usage, "critical,digitalSignature");
  add_extension(cert, keys_->ca_cert, NID_ext_key_usage, "serverAuth");
  add_extension(cert, keys_->ca_cert, NID_subject_alt_name, subject_alt_names);
  add_extension(cert, keys_->ca_cert, NID_authority_key_identifier, "keyid:always");
  check(X509_sign(cert, keys_->ca_key, EVP_sha256()) > 0, "X509_sign");
  issued_cert out{dir_ / (name + ".pem"), dir_ / (name + ".key")};
  write_pem(out.cert_file, cert, nullptr);
  write_pem(out.key_file, nullptr, key);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

}  // namespace kiln::test
