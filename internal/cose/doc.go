// Package cose reads and writes COSE_Sign1 messages (RFC 9052), the signed
// envelope of every EU Digital COVID Certificate and so of every Corridor
// credential.
//
// It holds only what that profile needs: one signer, no external data, the
// key id (kid) and algorithm (alg) headers, signing with ES256 and verifying
// ES256 and PS256, the two algorithms the DCC specification allows. Keeping
// it this narrow is deliberate: an algorithm it does not know, or a header
// a signer marks critical, is refused rather than half understood, and the
// Sig_structure is written by hand, byte for byte, because the signature
// covers exactly those bytes.
//
// A message may arrive tagged (COSE_Sign1, tag 18), untagged, or wrapped in
// the CWT tag 61 (RFC 8392); all three occur among national issuers.
package cose
