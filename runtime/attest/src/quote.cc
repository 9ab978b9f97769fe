// TDX quote parsing and serialization; the layout is documented in tdxrt/quote.h.
#include "tdxrt/quote.h"

#include <algorithm>

namespace tdxrt {
namespace {

template <std::size_t N>
Status ReadInto(Cursor& c, std::array<std::uint8_t, N>& out, std::string_view field) {
  TDX_ASSIGN_OR_RETURN(ByteSpan b, c.Take(N, field));
  std::copy(b.begin(), b.end(), out.begin());
  return Status::Ok();
}

template <std::size_t N>
void Put(Bytes& out, const std::array<std::uint8_t, N>& a) {
  out.insert(out.end(), a.begin(), a.end());
}

}  // namespace

Result<TdReport> ParseTdReportBody(ByteSpan body, std::uint64_t base, bool td15) {
  Cursor c(body, base);
  TdReport r;
  r.is_td15 = td15;
  TDX_TRY(ReadInto(c, r.tee_tcb_svn, "TD report TEE_TCB_SVN"));
  TDX_TRY(ReadInto(c, r.mr_seam, "TD report MRSEAM"));
  TDX_TRY(ReadInto(c, r.mr_signer_seam, "TD report MRSIGNERSEAM"));
  TDX_TRY(ReadInto(c, r.seam_attributes, "TD report SEAMATTRIBUTES"));
  TDX_TRY(ReadInto(c, r.td_attributes, "TD report TDATTRIBUTES"));
  TDX_TRY(ReadInto(c, r.xfam, "TD report XFAM"));
  TDX_TRY(ReadInto(c, r.mr_td, "TD report MRTD"));
  TDX_TRY(ReadInto(c, r.mr_config_id, "TD report MRCONFIGID"));
  TDX_TRY(ReadInto(c, r.mr_owner, "TD report MROWNER"));
  TDX_TRY(ReadInto(c, r.mr_owner_config, "TD report MROWNERCONFIG"));
  for (std::size_t i = 0; i < 4; ++i) {
    TDX_TRY(ReadInto(c, r.rtmr[i], "TD report RTMR" + std::to_string(i)));
  }
  TDX_TRY(ReadInto(c, r.report_data, "TD report REPORTDATA"));
  if (td15) {
    TDX_TRY(ReadInto(c, r.tee_tcb_svn2, "TD report TEE_TCB_SVN2"));
    TDX_TRY(ReadInto(c, r.mr_service_td, "TD report MRSERVICETD"));
  }
  return r;
}

Result<EnclaveReport> ParseEnclaveReport(ByteSpan data, std::uint64_t base_offset) {
  // SGX REPORTBODY: CPUSVN 16, MISCSELECT 4, reserved 28, ATTRIBUTES 16, MRENCLAVE 32,
  // reserved 32, MRSIGNER 32, reserved 96, ISVPRODID 2, ISVSVN 2, reserved 60, REPORTDATA 64.
  if (data.size() != kEnclaveReportSize) {
    return Status::Corrupt("QE report at offset " + HexOffset(base_offset) + " is " +
                           std::to_string(data.size()) + " bytes, expected 384");
  }
  Cursor c(data, base_offset);
  EnclaveReport r;
  TDX_TRY(ReadInto(c, r.cpu_svn, "QE report CPUSVN"));
  TDX_ASSIGN_OR_RETURN(r.misc_select, c.U32("QE report MISCSELECT"));
  TDX_TRY(c.Skip(28, "QE report reserved"));
  TDX_TRY(ReadInto(c, r.attributes, "QE report ATTRIBUTES"));
  TDX_TRY(ReadInto(c, r.mr_enclave, "QE report MRENCLAVE"));
  TDX_TRY(c.Skip(32, "QE report reserved"));
  TDX_TRY(ReadInto(c, r.mr_signer, "QE report MRSIGNER"));
  TDX_TRY(c.Skip(96, "QE report reserved"));
  TDX_ASSIGN_OR_RETURN(r.isv_prod_id, c.U16("QE report ISVPRODID"));
  TDX_ASSIGN_OR_RETURN(r.isv_svn, c.U16("QE report ISVSVN"));
  TDX_TRY(c.Skip(60, "QE report reserved"));
  TDX_TRY(ReadInto(c, r.report_data, "QE report REPORTDATA"));
  return r;
}

Result<Quote> ParseQuote(ByteSpan data) {
  Cursor c(data);
  Quote q;
  TDX_ASSIGN_OR_RETURN(q.header.version, c.U16("quote header version"));
  if (q.header.version != kQuoteVersion4 && q.header.version != kQuoteVersion5) {
    return Status::Unsupported("quote version " + std::to_string(q.header.version) +
                               " at offset 0x0 is not supported (TDX quotes are version 4 or 5)");
  }
  TDX_ASSIGN_OR_RETURN(q.header.attestation_key_type, c.U16("quote attestation key type"));
  if (q.header.attestation_key_type != kAttestationKeyEcdsaP256) {
    return Status::Unsupported("attestation key type " +
                               std::to_string(q.header.attestation_key_type) +
                               " at offset 0x2 is not supported (only 2, ECDSA P-256)");
  }
  TDX_ASSIGN_OR_RETURN(q.header.tee_type, c.U32("quote TEE type"));
  if (q.header.tee_type != kTeeTypeTdx) {
    return Status::Unsupported("TEE type " + HexOffset(q.header.tee_type) +
                               " at offset 0x4 is not TDX (0x81)");
  }
  TDX_ASSIGN_OR_RETURN(q.header.qe_svn, c.U16("quote QE SVN"));
  TDX_ASSIGN_OR_RETURN(q.header.pce_svn, c.U16("quote PCE SVN"));
  TDX_TRY(ReadInto(c, q.header.qe_vendor_id, "quote QE vendor id"));
  TDX_TRY(ReadInto(c, q.header.user_data, "quote user data"));

  std::size_t body_size = kTdReport10Size;
  if (q.header.version == kQuoteVersion5) {
    const std::uint64_t at = c.abs_pos();
    TDX_ASSIGN_OR_RETURN(q.body_type, c.U16("quote v5 body type"));
    if (q.body_type != kBodyTypeTdReport10 && q.body_type != kBodyTypeTdReport15) {
      return Status::Unsupported("quote v5 body type " + std::to_string(q.body_type) +
                                 " at offset " + HexOffset(at) +
                                 " is not a TD report (2 = TD 1.0, 3 = TD 1.5)");
    }
    TDX_ASSIGN_OR_RETURN(std::uint32_t size, c.U32("quote v5 body size"));
    body_size = q.body_type == kBodyTypeTdReport15 ? kTdReport15Size : kTdReport10Size;
    if (size != body_size) {
      return Status::Corrupt("quote v5 body size " + std::to_string(size) + " at offset " +
                             HexOffset(at + 2) + " does not match body type " +
                             std::to_string(q.body_type) + " (" + std::to_string(body_size) +
                             " bytes)");
    }
  }
  const std::uint64_t body_at = c.abs_pos();
  TDX_ASSIGN_OR_RETURN(ByteSpan body, c.Take(body_size, "quote body (TD report)"));
  TDX_ASSIGN_OR_RETURN(q.report,
                       ParseTdReportBody(body, body_at, q.body_type == kBodyTypeTdReport15));
  q.signed_size = c.pos();

  const std::uint64_t sig_len_at = c.abs_pos();
  TDX_ASSIGN_OR_RETURN(std::uint32_t sig_len, c.U32("quote signature data length"));
  if (sig_len > c.remaining()) {
    return Status::Corrupt("quote signature data length " + std::to_string(sig_len) +
                           " at offset " + HexOffset(sig_len_at) + " runs past the end (" +
                           std::to_string(c.remaining()) + " bytes left)");
  }
  TDX_ASSIGN_OR_RETURN(ByteSpan sig_data, c.Take(sig_len, "quote signature data"));
  // Quoting libraries hand out fixed-size buffers, so real quotes end in zero padding. Padding
  // is accepted; anything else after the signed structure is not.
  for (std::size_t i = c.pos(); i < data.size(); ++i) {
    if (data[i] != 0) {
      return Status::Corrupt("non-zero byte after the signature data at offset " + HexOffset(i) +
                             " (only zero padding may follow a quote)");
    }
  }
  q.padding_size = data.size() - c.pos();
  Cursor s(sig_data, sig_len_at + 4);
  TDX_TRY(ReadInto(s, q.signature, "quote ECDSA signature"));
  TDX_TRY(ReadInto(s, q.attestation_key, "quote attestation key"));
  const std::uint64_t cert_at = s.abs_pos();
  TDX_ASSIGN_OR_RETURN(q.certification_type, s.U16("certification data type"));
  if (q.certification_type != kCertDataQeReport) {
    return Status::Unsupported("certification data type " + std::to_string(q.certification_type) +
                               " at offset " + HexOffset(cert_at) +
                               " is not supported (quotes v4/v5 carry type 6, QE report)");
  }
  TDX_ASSIGN_OR_RETURN(std::uint32_t cert_size, s.U32("certification data size"));
  if (cert_size != s.remaining()) {
    return Status::Corrupt("certification data size " + std::to_string(cert_size) + " at offset " +
                           HexOffset(cert_at + 2) + " does not match the " +
                           std::to_string(s.remaining()) + " bytes left in the signature data");
  }
  const std::uint64_t qe_at = s.abs_pos();
  TDX_ASSIGN_OR_RETURN(ByteSpan qe_report, s.Take(kEnclaveReportSize, "QE report"));
  q.qe_report_raw.assign(qe_report.begin(), qe_report.end());
  TDX_ASSIGN_OR_RETURN(q.qe_report, ParseEnclaveReport(qe_report, qe_at));
  TDX_TRY(ReadInto(s, q.qe_report_signature, "QE report signature"));
  TDX_ASSIGN_OR_RETURN(std::uint16_t auth_size, s.U16("QE auth data size"));
  TDX_ASSIGN_OR_RETURN(ByteSpan auth, s.Take(auth_size, "QE auth data"));
  q.qe_auth_data.assign(auth.begin(), auth.end());
  const std::uint64_t pck_at = s.abs_pos();
  TDX_ASSIGN_OR_RETURN(q.pck_cert_type, s.U16("PCK certification data type"));
  if (q.pck_cert_type != kCertDataPckChain) {
    return Status::Unsupported("PCK certification data type " + std::to_string(q.pck_cert_type) +
                               " at offset " + HexOffset(pck_at) +
                               " is not supported (only 5, PCK certificate chain in PEM)");
  }
  TDX_ASSIGN_OR_RETURN(std::uint32_t pck_size, s.U32("PCK certification data size"));
  if (pck_size != s.remaining()) {
    return Status::Corrupt("PCK certification data size " + std::to_string(pck_size) +
                           " at offset " + HexOffset(pck_at + 2) + " does not match the " +
                           std::to_string(s.remaining()) + " bytes left in the signature data");
  }
  TDX_ASSIGN_OR_RETURN(ByteSpan pem, s.Take(pck_size, "PCK certificate chain"));
  // Kept byte for byte: Intel's QE NUL-terminates the text, and the PEM reader skips that.
  q.pck_chain_pem.assign(reinterpret_cast<const char*>(pem.data()), pem.size());
  return q;
}

Bytes SerializeTdReport(const TdReport& r) {
  Bytes out;
  Put(out, r.tee_tcb_svn);
  Put(out, r.mr_seam);
  Put(out, r.mr_signer_seam);
  Put(out, r.seam_attributes);
  Put(out, r.td_attributes);
  Put(out, r.xfam);
  Put(out, r.mr_td);
  Put(out, r.mr_config_id);
  Put(out, r.mr_owner);
  Put(out, r.mr_owner_config);
  for (const auto& m : r.rtmr) Put(out, m);
  Put(out, r.report_data);
  if (r.is_td15) {
    Put(out, r.tee_tcb_svn2);
    Put(out, r.mr_service_td);
  }
  return out;
}

Bytes SerializeEnclaveReport(const EnclaveReport& r) {
  Bytes out;
  Put(out, r.cpu_svn);
  AppendLe<std::uint32_t>(out, r.misc_select);
  out.resize(out.size() + 28, 0);
  Put(out, r.attributes);
  Put(out, r.mr_enclave);
  out.resize(out.size() + 32, 0);
  Put(out, r.mr_signer);
  out.resize(out.size() + 96, 0);
  AppendLe<std::uint16_t>(out, r.isv_prod_id);
  AppendLe<std::uint16_t>(out, r.isv_svn);
  out.resize(out.size() + 60, 0);
  Put(out, r.report_data);
  return out;
}

Bytes SerializeSignedPart(const Quote& q) {
  Bytes out;
  AppendLe<std::uint16_t>(out, q.header.version);
  AppendLe<std::uint16_t>(out, q.header.attestation_key_type);
  AppendLe<std::uint32_t>(out, q.header.tee_type);
  AppendLe<std::uint16_t>(out, q.header.qe_svn);
  AppendLe<std::uint16_t>(out, q.header.pce_svn);
  Put(out, q.header.qe_vendor_id);
  Put(out, q.header.user_data);
  Bytes body = SerializeTdReport(q.report);
  if (q.header.version == kQuoteVersion5) {
    AppendLe<std::uint16_t>(out, q.body_type);
    AppendLe<std::uint32_t>(out, static_cast<std::uint32_t>(body.size()));
  }
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Bytes SerializeQuote(const Quote& q) {
  Bytes out = SerializeSignedPart(q);
  Bytes cert;  // type 6 payload
  cert.insert(cert.end(), q.qe_report_raw.begin(), q.qe_report_raw.end());
  Put(cert, q.qe_report_signature);
  AppendLe<std::uint16_t>(cert, static_cast<std::uint16_t>(q.qe_auth_data.size()));
  cert.insert(cert.end(), q.qe_auth_data.begin(), q.qe_auth_data.end());
  AppendLe<std::uint16_t>(cert, q.pck_cert_type);
  AppendLe<std::uint32_t>(cert, static_cast<std::uint32_t>(q.pck_chain_pem.size()));
  cert.insert(cert.end(), q.pck_chain_pem.begin(), q.pck_chain_pem.end());
  Bytes sig;
  Put(sig, q.signature);
  Put(sig, q.attestation_key);
  AppendLe<std::uint16_t>(sig, q.certification_type);
  AppendLe<std::uint32_t>(sig, static_cast<std::uint32_t>(cert.size()));
  sig.insert(sig.end(), cert.begin(), cert.end());
  AppendLe<std::uint32_t>(out, static_cast<std::uint32_t>(sig.size()));
  out.insert(out.end(), sig.begin(), sig.end());
  return out;
}

}  // namespace tdxrt
