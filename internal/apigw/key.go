package apigw

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// KeyPrefix starts every API key.
const KeyPrefix = "cfk_"

// keyLen is the length of a key: the prefix and 52 base32 characters.
const keyLen = len(KeyPrefix) + 52

// DisplayLen is the length of a key's display prefix.
const DisplayLen = 12

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewKey returns a fresh key, its display prefix and its hash.
func NewKey() (key, prefix, hash string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", "", fmt.Errorf("random key: %w", err)
	}
	key = KeyPrefix + strings.ToLower(b32.EncodeToString(b[:]))
	return key, key[:DisplayLen], HashKey(key), nil
}

// HashKey is the hex SHA-256 of key, as stored.
func HashKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// wellFormed reports whether key has the shape of a key (checked before any
// lookup, so that junk never reaches the database).
func wellFormed(key string) bool {
	if len(key) != keyLen || !strings.HasPrefix(key, KeyPrefix) {
		return false
	}
	for _, c := range key[len(KeyPrefix):] {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// sameHash compares two hex hashes in constant time.
func sameHash(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// KeyFromRequest returns the API key of r: "Authorization: Apikey KEY" or
// the apikey query parameter. found is false when the request carries none
// (anonymous); a request that carries both with different values, or an
// empty one, returns found and an empty key (refused).
func KeyFromRequest(r *http.Request) (key string, found bool) {
	var fromHeader, fromQuery string
	var hasHeader, hasQuery bool
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, cred, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "Apikey") {
			hasHeader, fromHeader = true, strings.TrimSpace(cred)
		}
	}
	if vs, ok := r.URL.Query()["apikey"]; ok {
		hasQuery = true
		if len(vs) == 1 {
			fromQuery = vs[0]
		}
	}
	switch {
	case hasHeader && hasQuery:
		if fromHeader != fromQuery {
			return "", true
		}
		return fromHeader, true
	case hasHeader:
		return fromHeader, true
	case hasQuery:
		return fromQuery, true
	}
	return "", false
}

// redactQuery removes the apikey parameter from a raw query string.
func redactQuery(raw string) string {
	if !strings.Contains(strings.ToLower(raw), "apikey") {
		return raw
	}
	parts := strings.Split(raw, "&")
	kept := parts[:0]
	for _, p := range parts {
		name, _, _ := strings.Cut(p, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if strings.EqualFold(name, "apikey") {
			continue
		}
		kept = append(kept, p)
	}
	return strings.Join(kept, "&")
}
