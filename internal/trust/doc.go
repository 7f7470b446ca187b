// Package trust decides which document signers a verifier trusts.
//
// A Corridor node, like a DCC issuing country, has a country signing CA
// (CSCA) and document signer certificates (DSCs) issued by it. A DSC is
// named by its kid, the first 8 bytes of SHA-256 over its DER encoding, and
// the kid in a credential's COSE header picks the candidates from a Store.
//
// The package speaks no network and reads a file only when asked to
// (Store.LoadFile): it parses what the edges hand it (a signed Corridor
// trust list, the EU gateway's trust-list JSON, certificates), checks
// chains, validity and key usage, and keeps the result in an in-memory
// Store built for the hot verify path. It also defines the signed envelope
// that trust and revocation lists travel in. docs/trust.md describes the
// formats.
package trust
