// Issuing certificates, CRLs and signatures (issue.h). Certificates and CRLs are built with
// OpenSSL's X509 API, then re-signed with SignP256 and reassembled by hand
// (SEQUENCE { tbs, ecdsa-with-SHA256, BIT STRING signature }), because OpenSSL 3.0 signs only
// with random nonces and a development PKI must come out the same from the same seed.
#include "issue.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <memory>
#include <stdexcept>

#include "tdxrt/sha.h"

namespace tdxrt::pki {
namespace {

// Issuing only fails on allocation failure or a programming error: both are fatal here.
void Require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("pki issue: ") + what);
}

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct BnCtxFree {
  void operator()(BN_CTX* c) const { BN_CTX_free(c); }
};
struct GroupFree {
  void operator()(EC_GROUP* g) const { EC_GROUP_free(g); }
};
struct PointFree {
  void operator()(EC_POINT* p) const { EC_POINT_free(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

std::unique_ptr<EC_GROUP, GroupFree> P256() {
  EC_GROUP* g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  Require(g != nullptr, "P-256 group");
  return std::unique_ptr<EC_GROUP, GroupFree>(g);
}

Bytes HmacSha512(ByteSpan key, ByteSpan data) {
  Bytes out(64);
  std::size_t len = 0;
  Require(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA512", nullptr, key.data(), key.size(),
                    data.data(), data.size(), out.data(), out.size(), &len) != nullptr &&
              len == 64,
          "HMAC-SHA-512");
  return out;
}

// An integer in [1, n-1] from 64 bytes (bias below 2^-250).
BnPtr ReduceToScalar(const Bytes& wide, const BIGNUM* n, BN_CTX* ctx) {
  BnPtr v(BN_bin2bn(wide.data(), static_cast<int>(wide.size()), nullptr));
  BnPtr n1(BN_dup(n));
  Require(v && n1 && BN_sub_word(n1.get(), 1) == 1 &&
              BN_mod(v.get(), v.get(), n1.get(), ctx) == 1 && BN_add_word(v.get(), 1) == 1,
          "scalar reduction");
  return v;
}

Bytes DerTlv(std::uint8_t tag, ByteSpan value) {
  Bytes out{tag};
  const std::size_t n = value.size();
  if (n < 0x80) {
    out.push_back(static_cast<std::uint8_t>(n));
  } else if (n < 0x100) {
    out.insert(out.end(), {0x81, static_cast<std::uint8_t>(n)});
  } else if (n < 0x10000) {
    out.insert(out.end(), {0x82, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
  } else {
    Require(n < 0x1000000, "DER length");
    out.insert(out.end(), {0x83, static_cast<std::uint8_t>(n >> 16),
                           static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
  }
  out.insert(out.end(), value.begin(), value.end());
  return out;
}

Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// SEQUENCE { tbs, AlgorithmIdentifier ecdsa-with-SHA256, BIT STRING DER(ECDSA-Sig-Value) }.
Bytes SignedDer(const Bytes& tbs, EVP_PKEY* key) {
  const std::array<std::uint8_t, 64> rs = SignP256(key, tbs);
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(rs.data(), 32, nullptr);
  BIGNUM* s = BN_bin2bn(rs.data() + 32, 32, nullptr);
  Require(sig != nullptr && r != nullptr && s != nullptr && ECDSA_SIG_set0(sig, r, s) == 1,
          "ECDSA_SIG");
  unsigned char* der = nullptr;
  const int n = i2d_ECDSA_SIG(sig, &der);
  Require(n > 0, "i2d_ECDSA_SIG");
  Bytes bits{0x00};  // no unused bits
  bits.insert(bits.end(), der, der + n);
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  static const Bytes kEcdsaWithSha256 = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                         0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
  return DerTlv(0x30, Cat({tbs, kEcdsaWithSha256, DerTlv(0x03, bits)}));
}

void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  Require(ext != nullptr && X509_add_ext(cert, ext, -1) == 1, "extension");
  X509_EXTENSION_free(ext);
}

Bytes SgxOid(std::initializer_list<std::uint8_t> arcs) {
  Bytes oid = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};
  oid.insert(oid.end(), arcs);
  return DerTlv(0x06, oid);
}

Bytes DerInt(unsigned v) {
  Bytes b;
  if (v == 0) b.push_back(0);
  while (v > 0) {
    b.insert(b.begin(), static_cast<std::uint8_t>(v & 0xff));
    v >>= 8;
  }
  if (b[0] & 0x80) b.insert(b.begin(), 0);
  return DerTlv(0x02, b);
}

template <std::size_t N>
Bytes Octets(const std::array<std::uint8_t, N>& a) {
  return DerTlv(0x04, Bytes(a.begin(), a.end()));
}

}  // namespace

PkeyPtr DeriveP256Key(ByteSpan seed, std::string_view label) {
  auto group = P256();
  std::unique_ptr<BN_CTX, BnCtxFree> ctx(BN_CTX_new());
  const std::string msg = "tdxrt/p256-key/v1/" + std::string(label);
  const Bytes wide =
      HmacSha512(seed, ByteSpan(reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size()));
  BnPtr d = ReduceToScalar(wide, EC_GROUP_get0_order(group.get()), ctx.get());
  std::unique_ptr<EC_POINT, PointFree> pub(EC_POINT_new(group.get()));
  std::array<std::uint8_t, 65> pub_oct{};
  Require(pub && EC_POINT_mul(group.get(), pub.get(), d.get(), nullptr, nullptr, ctx.get()) == 1 &&
              EC_POINT_point2oct(group.get(), pub.get(), POINT_CONVERSION_UNCOMPRESSED,
                                 pub_oct.data(), pub_oct.size(), ctx.get()) == 65,
          "public point");
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  Require(
      bld != nullptr &&
          OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1 &&
          OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d.get()) == 1 &&
          OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub_oct.data(),
                                           pub_oct.size()) == 1,
      "key parameters");
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* pctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* key = nullptr;
  const bool ok = params != nullptr && pctx != nullptr && EVP_PKEY_fromdata_init(pctx) == 1 &&
                  EVP_PKEY_fromdata(pctx, &key, EVP_PKEY_KEYPAIR, params) == 1;
  EVP_PKEY_CTX_free(pctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  Require(ok && key != nullptr, "EVP_PKEY_fromdata");
  return PkeyPtr(key);
}

std::array<std::uint8_t, 64> SignP256(EVP_PKEY* key, ByteSpan data) {
  auto group = P256();
  std::unique_ptr<BN_CTX, BnCtxFree> ctx(BN_CTX_new());
  BIGNUM* d_raw = nullptr;
  Require(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &d_raw) == 1, "private key");
  BnPtr d(d_raw);
  const BIGNUM* n = EC_GROUP_get0_order(group.get());
  const Sha256Digest digest = Sha256(data);
  BnPtr e(BN_bin2bn(digest.data(), 32, nullptr));
  std::array<std::uint8_t, 32> d_bytes{};
  Require(e && BN_bn2binpad(d.get(), d_bytes.data(), 32) == 32, "digest");
  for (std::uint8_t counter = 0;; ++counter) {
    Bytes msg(digest.begin(), digest.end());
    msg.push_back(counter);
    BnPtr k = ReduceToScalar(HmacSha512(d_bytes, msg), n, ctx.get());
    std::unique_ptr<EC_POINT, PointFree> kg(EC_POINT_new(group.get()));
    BnPtr x(BN_new()), r(BN_new()), s(BN_new()), kinv(BN_new());
    Require(kg && x && r && s && kinv &&
                EC_POINT_mul(group.get(), kg.get(), k.get(), nullptr, nullptr, ctx.get()) == 1 &&
                EC_POINT_get_affine_coordinates(group.get(), kg.get(), x.get(), nullptr,
                                                ctx.get()) == 1 &&
                BN_nnmod(r.get(), x.get(), n, ctx.get()) == 1,
            "nonce point");
    if (BN_is_zero(r.get())) continue;
    // s = k^-1 (e + r d) mod n
    Require(BN_mod_inverse(kinv.get(), k.get(), n, ctx.get()) != nullptr &&
                BN_mod_mul(s.get(), r.get(), d.get(), n, ctx.get()) == 1 &&
                BN_mod_add(s.get(), s.get(), e.get(), n, ctx.get()) == 1 &&
                BN_mod_mul(s.get(), s.get(), kinv.get(), n, ctx.get()) == 1,
            "signature");
    if (BN_is_zero(s.get())) continue;
    std::array<std::uint8_t, 64> out{};
    Require(BN_bn2binpad(r.get(), out.data(), 32) == 32 &&
                BN_bn2binpad(s.get(), out.data() + 32, 32) == 32,
            "signature encoding");
    return out;
  }
}

X509Ptr IssueCertificate(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer,
                         EVP_PKEY* issuer_key) {
  X509Ptr x(X509_new());
  Require(x != nullptr, "X509_new");
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), spec.serial);
  Require(ASN1_TIME_set(X509_getm_notBefore(x.get()), static_cast<time_t>(spec.not_before)) &&
              ASN1_TIME_set(X509_getm_notAfter(x.get()), static_cast<time_t>(spec.not_after)),
          "validity");
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", V_ASN1_T61STRING,
                             reinterpret_cast<const unsigned char*>(spec.cn.data()),
                             static_cast<int>(spec.cn.size()), -1, 0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.organization.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(x.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(x.get(), subject_key);
  X509* iss = issuer != nullptr ? issuer : x.get();
  AddExt(x.get(), iss, NID_basic_constraints, spec.ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  AddExt(x.get(), iss, NID_key_usage,
         spec.ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  AddExt(x.get(), iss, NID_subject_key_identifier, "hash");
  if (issuer != nullptr) AddExt(x.get(), iss, NID_authority_key_identifier, "keyid:always");
  if (!spec.subject_alt_name.empty()) {
    AddExt(x.get(), iss, NID_subject_alt_name, spec.subject_alt_name.c_str());
  }
  if (spec.sgx_extension) {
    ASN1_OBJECT* obj = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    ASN1_OCTET_STRING* data = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(data, spec.sgx_extension->data(),
                          static_cast<int>(spec.sgx_extension->size()));
    X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, obj, 0, data);
    Require(ext != nullptr && X509_add_ext(x.get(), ext, -1) == 1, "SGX extension");
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(data);
    ASN1_OBJECT_free(obj);
  }
  // Sets the signature algorithm fields of the TBS; the random signature is then replaced.
  Require(X509_sign(x.get(), issuer_key, EVP_sha256()) > 0, "X509_sign");
  unsigned char* tbs = nullptr;
  const int n = i2d_re_X509_tbs(x.get(), &tbs);
  Require(n > 0, "i2d_re_X509_tbs");
  const Bytes der = SignedDer(Bytes(tbs, tbs + n), issuer_key);
  OPENSSL_free(tbs);
  const unsigned char* p = der.data();
  X509Ptr out(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  Require(out != nullptr, "d2i_X509");
  return out;
}

Bytes IssueCrl(X509* issuer, EVP_PKEY* issuer_key, const std::vector<long>& revoked,
               std::int64_t this_update, std::int64_t next_update) {
  CrlPtr crl(X509_CRL_new());
  Require(crl != nullptr, "X509_CRL_new");
  X509_CRL_set_version(crl.get(), 1);
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer));
  ASN1_TIME* t = ASN1_TIME_new();
  ASN1_TIME_set(t, static_cast<time_t>(this_update));
  X509_CRL_set1_lastUpdate(crl.get(), t);
  ASN1_TIME_set(t, static_cast<time_t>(next_update));
  X509_CRL_set1_nextUpdate(crl.get(), t);
  for (long serial : revoked) {
    X509_REVOKED* r = X509_REVOKED_new();
    ASN1_INTEGER* s = ASN1_INTEGER_new();
    ASN1_INTEGER_set(s, serial);
    X509_REVOKED_set_serialNumber(r, s);
    ASN1_TIME_set(t, static_cast<time_t>(this_update - 3600));
    X509_REVOKED_set_revocationDate(r, t);
    X509_CRL_add0_revoked(crl.get(), r);
    ASN1_INTEGER_free(s);
  }
  ASN1_TIME_free(t);
  X509_CRL_sort(crl.get());
  Require(X509_CRL_sign(crl.get(), issuer_key, EVP_sha256()) > 0, "X509_CRL_sign");
  unsigned char* tbs = nullptr;
  const int n = i2d_re_X509_CRL_tbs(crl.get(), &tbs);
  Require(n > 0, "i2d_re_X509_CRL_tbs");
  Bytes der = SignedDer(Bytes(tbs, tbs + n), issuer_key);
  OPENSSL_free(tbs);
  return der;
}

std::string CertPem(X509* cert) {
  BIO* b = BIO_new(BIO_s_mem());
  Require(b != nullptr && PEM_write_bio_X509(b, cert) == 1, "PEM");
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return out;
}

std::string PrivateKeyPem(EVP_PKEY* key) {
  BIO* b = BIO_new(BIO_s_mem());
  Require(
      b != nullptr && PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
      "PEM key");
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return out;
}

Bytes SgxExtensionDer(const PckExtension& f) {
  Bytes tcb;
  for (std::uint8_t i = 0; i < 16; ++i) {
    tcb = Cat({tcb, DerTlv(0x30, Cat({SgxOid({2, static_cast<std::uint8_t>(i + 1)}),
                                      DerInt(f.sgx_components[i])}))});
  }
  tcb = Cat({tcb, DerTlv(0x30, Cat({SgxOid({2, 17}), DerInt(f.pce_svn)}))});
  tcb = Cat({tcb, DerTlv(0x30, Cat({SgxOid({2, 18}), Octets(f.cpu_svn)}))});
  return DerTlv(0x30, Cat({
                          DerTlv(0x30, Cat({SgxOid({1}), Octets(f.ppid)})),
                          DerTlv(0x30, Cat({SgxOid({2}), DerTlv(0x30, tcb)})),
                          DerTlv(0x30, Cat({SgxOid({3}), Octets(f.pce_id)})),
                          DerTlv(0x30, Cat({SgxOid({4}), Octets(f.fmspc)})),
                          DerTlv(0x30, Cat({SgxOid({5}), DerTlv(0x0a, Bytes{0})})),
                      }));
}

std::array<std::uint8_t, 64> P256PublicRaw(EVP_PKEY* key) {
  std::array<std::uint8_t, 65> point{};
  std::size_t len = 0;
  Require(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size(),
                                          &len) == 1 &&
              len == 65,
          "public key export");
  std::array<std::uint8_t, 64> out{};
  std::copy(point.begin() + 1, point.end(), out.begin());
  return out;
}

}  // namespace tdxrt::pki
