// Package base45 implements the Base45 encoding of RFC 9285.
//
// Base45 is how the EU Digital COVID Certificate (and so every Corridor
// credential) packs binary data into the alphanumeric mode of a QR code:
// the 45 characters it uses are exactly those that mode can carry, so a
// credential takes about a third fewer modules than it would as Base64.
//
// The codec is hand-written rather than imported: it is a few dozen lines,
// and owning it lets the decoder reject every malformed input that RFC 9285
// names (characters outside the alphabet, a group worth more than 65535, a
// dangling single character) with an error that says which one.
package base45
