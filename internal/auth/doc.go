// Package auth holds the small, storage-free pieces of who may do what:
// organisation kinds and the roles each may grant, role lists, password
// hashing (argon2id), random secrets that are shown once and kept only as
// hashes (sessions, invitations, API tokens, traveller links), and HMAC keys
// for rate limits that keep no raw e-mail address or IP address.
//
// Deciding whether a principal may take a given step is the application's
// job (internal/app); this package only gives it the vocabulary.
package auth
