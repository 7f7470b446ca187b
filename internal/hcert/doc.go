// Package hcert reads and writes the "HC1:" credential string of the EU
// Digital COVID Certificate, the wire format every Corridor credential uses
// so that existing DCC verifier apps can read them:
//
//	"HC1:" + Base45( zlib( COSE_Sign1( CWT claims ) ) )
//
// Decoding is split from trust: Decode unpacks the layers and returns an
// Unverified credential whose key id tells the caller which signer's key to
// fetch; VerifySignature then checks it. Whether that key is trusted, and
// whether the certificate inside is valid, are the caller's questions.
//
// Every failure names the layer that failed (a Step) in words a border
// officer can act on, and every layer is bounded: the decompressed size,
// the CBOR nesting depth and the sizes of arrays and maps, so that a hostile
// QR code costs a verifier little.
package hcert
