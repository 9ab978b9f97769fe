// OpenSSL plumbing for DCAP verification (see pki.h). The SGX extension is read with a small
// bounds-checked DER walker: its layout (Intel SGX PCK Certificate and CRL Profile, section
// "SGX Extensions") is a SEQUENCE of SEQUENCE { OID, value }, with the TCB value itself a
// SEQUENCE of 16 component SVNs, the PCESVN and the CPUSVN.
#include "pki.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>

#include "tdxrt/hex.h"
#include "tdxrt/text.h"

namespace tdxrt::pki {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct StoreFree {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct CtxFree {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
struct StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
};

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

std::string OpensslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::string Describe(std::size_t index, X509* cert) {
  return "certificate " + std::to_string(index) + " (CN=" + SubjectCn(cert) + ")";
}

// --- DER walking for the SGX extension --------------------------------------------------------

struct Tlv {
  std::uint8_t tag = 0;
  ByteSpan value;
};

// Reads one TLV from the front of `in`, advancing it. Only definite lengths up to 4 bytes.
Result<Tlv> ReadTlv(ByteSpan& in, std::string_view what) {
  auto bad = [&](const std::string& why) {
    return Status::Corrupt("SGX extension: " + std::string(what) + ": " + why);
  };
  if (in.size() < 2) return bad("truncated");
  Tlv t;
  t.tag = in[0];
  std::size_t len = in[1];
  std::size_t header = 2;
  if (len & 0x80) {
    const std::size_t n = len & 0x7f;
    if (n == 0 || n > 4) return bad("unsupported length form");
    if (in.size() < 2 + n) return bad("truncated length");
    len = 0;
    for (std::size_t i = 0; i < n; ++i) len = (len << 8) | in[2 + i];
    header += n;
  }
  if (len > in.size() - header) return bad("length runs past the end");
  t.value = in.subspan(header, len);
  in = in.subspan(header + len);
  return t;
}

Result<std::uint64_t> DerUint(const Tlv& t, std::string_view what) {
  if (t.tag != 0x02 && t.tag != 0x0a) {
    return Status::Corrupt("SGX extension: " + std::string(what) + ": expected an INTEGER");
  }
  if (t.value.empty() || t.value.size() > 5 || (t.value[0] & 0x80)) {
    return Status::Corrupt("SGX extension: " + std::string(what) +
                           ": not a small non-negative INTEGER");
  }
  std::uint64_t v = 0;
  for (auto b : t.value) v = (v << 8) | b;
  return v;
}

template <std::size_t N>
Status DerOctets(const Tlv& t, std::array<std::uint8_t, N>& out, std::string_view what) {
  if (t.tag != 0x04 || t.value.size() != N) {
    return Status::Corrupt("SGX extension: " + std::string(what) +
                           ": expected an OCTET STRING of " + std::to_string(N) + " bytes");
  }
  std::copy(t.value.begin(), t.value.end(), out.begin());
  return Status::Ok();
}

// DER body of OID 1.2.840.113741.1.13.1 (the SGX extension); members append one more arc.
constexpr std::uint8_t kSgxOid[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};

// Returns the arcs after the SGX extension OID, or empty when `oid` is not under it.
std::vector<std::uint8_t> SgxArcs(ByteSpan oid) {
  if (oid.size() <= sizeof kSgxOid ||
      !std::equal(std::begin(kSgxOid), std::end(kSgxOid), oid.begin())) {
    return {};
  }
  return {oid.begin() + sizeof kSgxOid, oid.end()};  // arcs < 128 are single bytes
}

}  // namespace

Result<std::vector<X509Ptr>> ParsePemChain(std::string_view pem) {
  static constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  static constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
  std::vector<X509Ptr> out;
  std::size_t pos = 0;
  while (true) {
    while (pos < pem.size() && (IsSpace(pem[pos]) || pem[pos] == '\0')) ++pos;
    if (pos == pem.size()) break;
    if (pem.compare(pos, kBegin.size(), kBegin) != 0) {
      return Status::Corrupt("PEM chain: unexpected text at character " + std::to_string(pos) +
                             " (expected " + std::string(kBegin) + ")");
    }
    const std::size_t end = pem.find(kEnd, pos);
    if (end == std::string_view::npos) {
      return Status::Corrupt("PEM chain: certificate " + std::to_string(out.size()) +
                             " has no END line");
    }
    const std::size_t stop = end + kEnd.size();
    std::unique_ptr<BIO, BioFree> bio(
        BIO_new_mem_buf(pem.data() + pos, static_cast<int>(stop - pos)));
    X509* x = bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr;
    if (x == nullptr) {
      return Status::Corrupt("PEM chain: certificate " + std::to_string(out.size()) +
                             " does not decode: " + OpensslError());
    }
    out.emplace_back(x);
    pos = stop;
  }
  if (out.empty()) return Status::Corrupt("PEM chain: no certificate");
  return out;
}

Result<X509Ptr> ParseCertificate(std::string_view pem_or_der) {
  if (pem_or_der.find("-----BEGIN") != std::string_view::npos) {
    TDX_ASSIGN_OR_RETURN(auto chain, ParsePemChain(pem_or_der));
    if (chain.size() != 1)
      return Status::Corrupt("expected one certificate, found " + std::to_string(chain.size()));
    return std::move(chain[0]);
  }
  const auto* p = reinterpret_cast<const unsigned char*>(pem_or_der.data());
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(pem_or_der.size()));
  if (x == nullptr) return Status::Corrupt("certificate does not decode: " + OpensslError());
  return X509Ptr(x);
}

Result<CrlPtr> ParseCrl(ByteSpan data) {
  X509_CRL* crl = nullptr;
  const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  if (text.rfind("-----BEGIN", 0) == 0) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
    crl = bio ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  } else {
    const unsigned char* p = data.data();
    crl = d2i_X509_CRL(nullptr, &p, static_cast<long>(data.size()));
    if (crl != nullptr && p != data.data() + data.size()) {
      X509_CRL_free(crl);
      return Status::Corrupt("CRL: " + std::to_string(data.data() + data.size() - p) +
                             " trailing bytes after the DER structure");
    }
  }
  if (crl == nullptr) return Status::Corrupt("CRL does not decode: " + OpensslError());
  return CrlPtr(crl);
}

Bytes CertDer(X509* cert) {
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert, &der);
  if (n <= 0) return {};
  Bytes out(der, der + n);
  OPENSSL_free(der);
  return out;
}

std::string SubjectCn(X509* cert) {
  char buf[256] = {};
  const int n =
      X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf - 1);
  if (n < 0) return "?";
  // The name is the certificate's bytes, not ours: it reaches terminals, logs and JSON.
  return EscapeText(std::string_view(buf, static_cast<std::size_t>(n)));
}

Status VerifyChainSignatures(const std::vector<X509Ptr>& chain, X509* root) {
  if (chain.empty()) return Status::Corrupt("empty certificate chain");
  std::vector<X509*> certs;
  for (const auto& c : chain) certs.push_back(c.get());
  X509* last = certs.back();
  if (X509_check_issued(last, last) == X509_V_OK) {
    if (CertDer(last) != CertDer(root)) {
      return Status::Mismatch(Describe(certs.size() - 1, last) +
                              " is a self-signed root that is not the trusted root CA");
    }
    certs.pop_back();
    if (certs.empty()) return Status::Mismatch("the chain holds only the root CA");
  }
  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  std::unique_ptr<X509_STORE_CTX, CtxFree> ctx(X509_STORE_CTX_new());
  std::unique_ptr<STACK_OF(X509), StackFree> untrusted(sk_X509_new_null());
  if (!store || !ctx || !untrusted || X509_STORE_add_cert(store.get(), root) != 1) {
    return Status::IoError("OpenSSL: " + OpensslError());
  }
  for (std::size_t i = 1; i < certs.size(); ++i) sk_X509_push(untrusted.get(), certs[i]);
  if (X509_STORE_CTX_init(ctx.get(), store.get(), certs[0], untrusted.get()) != 1) {
    return Status::IoError("OpenSSL: " + OpensslError());
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_NO_CHECK_TIME);
  if (X509_verify_cert(ctx.get()) == 1) {
    // The verified path must be exactly the given certificates plus the root: OpenSSL could
    // otherwise build a different path and leave some given certificate unchecked.
    STACK_OF(X509)* built = X509_STORE_CTX_get0_chain(ctx.get());
    if (sk_X509_num(built) != static_cast<int>(certs.size()) + 1) {
      return Status::Mismatch("the certificate chain is not a single path to the root CA");
    }
    return Status::Ok();
  }
  const int err = X509_STORE_CTX_get_error(ctx.get());
  const int depth = X509_STORE_CTX_get_error_depth(ctx.get());
  X509* cur = X509_STORE_CTX_get_current_cert(ctx.get());
  ERR_clear_error();
  std::string who = cur != nullptr ? Describe(static_cast<std::size_t>(depth), cur)
                                   : "certificate " + std::to_string(depth);
  return Status::Mismatch(who + ": " + X509_verify_cert_error_string(err));
}

Status CheckChainTimes(const std::vector<X509Ptr>& chain, X509* root, std::int64_t at) {
  time_t t = static_cast<time_t>(at);
  std::vector<X509*> certs;
  for (const auto& c : chain) certs.push_back(c.get());
  certs.push_back(root);
  for (std::size_t i = 0; i < certs.size(); ++i) {
    const bool early = X509_cmp_time(X509_get0_notBefore(certs[i]), &t) > 0;
    const bool late = X509_cmp_time(X509_get0_notAfter(certs[i]), &t) < 0;
    if (!early && !late) continue;
    char nb[64] = {}, na[64] = {};
    std::unique_ptr<BIO, BioFree> b(BIO_new(BIO_s_mem()));
    ASN1_TIME_print(b.get(), X509_get0_notBefore(certs[i]));
    BIO_read(b.get(), nb, sizeof nb - 1);
    ASN1_TIME_print(b.get(), X509_get0_notAfter(certs[i]));
    BIO_read(b.get(), na, sizeof na - 1);
    return Status::Mismatch(
        Describe(i, certs[i]) +
        (early ? ": certificate is not yet valid" : ": certificate has expired") + " (valid " + nb +
        " .. " + na + ")");
  }
  return Status::Ok();
}

Status CheckCrlSignature(X509_CRL* crl, X509* issuer) {
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) {
    return Status::Mismatch("CRL issuer is not " + SubjectCn(issuer));
  }
  EVP_PKEY* key = X509_get0_pubkey(issuer);
  if (key == nullptr || X509_CRL_verify(crl, key) != 1) {
    ERR_clear_error();
    return Status::Mismatch("CRL signature does not verify with the key of " + SubjectCn(issuer));
  }
  return Status::Ok();
}

Status CheckCrlTimes(X509_CRL* crl, std::int64_t at) {
  time_t t = static_cast<time_t>(at);
  if (X509_cmp_time(X509_CRL_get0_lastUpdate(crl), &t) > 0) {
    return Status::Mismatch("CRL is not yet valid at the verification time");
  }
  const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl);
  if (next == nullptr || X509_cmp_time(next, &t) < 0) {
    return Status::Mismatch("collateral expired: CRL nextUpdate is before the verification time");
  }
  return Status::Ok();
}

bool VerifyRawEcdsa(EVP_PKEY* key, ByteSpan data, std::span<const std::uint8_t, 64> signature) {
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(signature.data(), 32, nullptr);
  BIGNUM* s = BN_bin2bn(signature.data() + 32, 32, nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return false;
  }
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (der_len <= 0) return false;
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  bool ok =
      md != nullptr && EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestVerify(md, der, static_cast<std::size_t>(der_len), data.data(), data.size()) == 1;
  EVP_MD_CTX_free(md);
  OPENSSL_free(der);
  ERR_clear_error();
  return ok;
}

Result<PkeyPtr> P256KeyFromRaw(std::span<const std::uint8_t, 64> xy) {
  unsigned char point[65];
  point[0] = 0x04;  // uncompressed
  std::memcpy(point + 1, xy.data(), 64);
  EVP_PKEY* key = nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string("group", const_cast<char*>("prime256v1"), 0),
      OSSL_PARAM_construct_octet_string("pub", point, sizeof point),
      OSSL_PARAM_construct_end(),
  };
  const bool ok = ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1 &&
                  EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!ok || key == nullptr) {
    EVP_PKEY_free(key);
    ERR_clear_error();
    return Status::Corrupt("attestation key is not a point on P-256");
  }
  // fromdata does not validate the point; a key off the curve must not reach the verifier.
  EVP_PKEY_CTX* check = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
  const bool on_curve = check != nullptr && EVP_PKEY_public_check(check) == 1;
  EVP_PKEY_CTX_free(check);
  ERR_clear_error();
  if (!on_curve) {
    EVP_PKEY_free(key);
    return Status::Corrupt("attestation key is not a point on P-256");
  }
  return PkeyPtr(key);
}

Result<PckExtension> ParsePckExtension(X509* cert) {
  const int n = X509_get_ext_count(cert);
  ByteSpan body;
  bool found = false;
  for (int i = 0; i < n; ++i) {
    X509_EXTENSION* ext = X509_get_ext(cert, i);
    const ASN1_OBJECT* obj = X509_EXTENSION_get_object(ext);
    const unsigned char* oid = OBJ_get0_data(obj);
    const std::size_t oid_len = OBJ_length(obj);
    if (oid_len == sizeof kSgxOid && std::memcmp(oid, kSgxOid, oid_len) == 0) {
      const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
      body =
          ByteSpan(ASN1_STRING_get0_data(data), static_cast<std::size_t>(ASN1_STRING_length(data)));
      found = true;
      break;
    }
  }
  if (!found)
    return Status::Corrupt("PCK certificate has no SGX extension (1.2.840.113741.1.13.1)");

  PckExtension out;
  bool have_ppid = false, have_tcb = false, have_pceid = false, have_fmspc = false;
  TDX_ASSIGN_OR_RETURN(Tlv top, ReadTlv(body, "outer SEQUENCE"));
  if (top.tag != 0x30) return Status::Corrupt("SGX extension: expected a SEQUENCE");
  ByteSpan members = top.value;
  while (!members.empty()) {
    TDX_ASSIGN_OR_RETURN(Tlv m, ReadTlv(members, "member"));
    if (m.tag != 0x30) return Status::Corrupt("SGX extension: member is not a SEQUENCE");
    ByteSpan mv = m.value;
    TDX_ASSIGN_OR_RETURN(Tlv oid, ReadTlv(mv, "member OID"));
    TDX_ASSIGN_OR_RETURN(Tlv value, ReadTlv(mv, "member value"));
    const auto arcs = oid.tag == 0x06 ? SgxArcs(oid.value) : std::vector<std::uint8_t>{};
    if (arcs.size() != 1) continue;  // not ours, or a nested arc (unexpected at this level)
    switch (arcs[0]) {
      case 1:
        TDX_TRY(DerOctets(value, out.ppid, "PPID"));
        have_ppid = true;
        break;
      case 2: {
        if (value.tag != 0x30) return Status::Corrupt("SGX extension: TCB is not a SEQUENCE");
        ByteSpan comps = value.value;
        int seen = 0;
        while (!comps.empty()) {
          TDX_ASSIGN_OR_RETURN(Tlv c, ReadTlv(comps, "TCB component"));
          ByteSpan cv = c.value;
          TDX_ASSIGN_OR_RETURN(Tlv coid, ReadTlv(cv, "TCB component OID"));
          TDX_ASSIGN_OR_RETURN(Tlv cval, ReadTlv(cv, "TCB component value"));
          const auto carcs = coid.tag == 0x06 ? SgxArcs(coid.value) : std::vector<std::uint8_t>{};
          if (carcs.size() != 2 || carcs[0] != 2) continue;
          const std::size_t k = carcs[1];
          if (k >= 1 && k <= 16) {
            TDX_ASSIGN_OR_RETURN(std::uint64_t svn,
                                 DerUint(cval, "TCB component " + std::to_string(k)));
            if (svn > 0xff) return Status::Corrupt("SGX extension: TCB component SVN > 255");
            out.sgx_components[k - 1] = static_cast<std::uint8_t>(svn);
            seen |= 1 << (k - 1);
          } else if (k == 17) {
            TDX_ASSIGN_OR_RETURN(std::uint64_t svn, DerUint(cval, "PCESVN"));
            if (svn > 0xffff) return Status::Corrupt("SGX extension: PCESVN > 65535");
            out.pce_svn = static_cast<std::uint16_t>(svn);
            seen |= 1 << 16;
          } else if (k == 18) {
            TDX_TRY(DerOctets(cval, out.cpu_svn, "CPUSVN"));
            seen |= 1 << 17;
          }
        }
        if (seen != (1 << 18) - 1) {
          return Status::Corrupt(
              "SGX extension: TCB lacks some of components 1-16, PCESVN, CPUSVN");
        }
        have_tcb = true;
        break;
      }
      case 3:
        TDX_TRY(DerOctets(value, out.pce_id, "PCE-ID"));
        have_pceid = true;
        break;
      case 4:
        TDX_TRY(DerOctets(value, out.fmspc, "FMSPC"));
        have_fmspc = true;
        break;
      default:
        break;  // SGX type, platform instance id, configuration: not used here
    }
  }
  if (!have_ppid || !have_tcb || !have_pceid || !have_fmspc) {
    return Status::Corrupt("SGX extension: missing PPID, TCB, PCE-ID or FMSPC");
  }
  return out;
}

std::string Organization(X509* cert) {
  X509_NAME* name = X509_get_subject_name(cert);
  const int i = X509_NAME_get_index_by_NID(name, NID_organizationName, -1);
  if (i < 0) return "";
  const ASN1_STRING* o = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(o)),
                     static_cast<std::size_t>(ASN1_STRING_length(o)));
}

}  // namespace tdxrt::pki
