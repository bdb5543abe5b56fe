package temporalserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/config"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Who may use the embedded server.
//
// The frontend that clients dial (--temporal-port, loopback) accepts only
// callers presenting the installation's secret as gRPC metadata
// "authorization: Bearer <secret>"; anyone else gets PermissionDenied
// (except the health check and GetSystemInfo, which say nothing). The
// secret lives in DATA/temporal.secret (0600, created at first start), so
// that the processes of the installation — serve, workers on the same
// machine, the Temporal Web UI — share it, and no other local user does.
//
// Temporal's own services (history, matching, the system worker that runs
// schedules) never hold that secret: they talk to each other, and to an
// internal frontend, over mutual TLS with a certificate authority created
// in memory at every start. Their ports refuse anyone without a
// certificate of that CA, so they are no side door either.

// MinSecretLen is the shortest secret accepted from a file.
const MinSecretLen = 32

// SecretFileName is the secret's file in the data directory.
const SecretFileName = "temporal.secret"

// LoadOrCreateSecret returns the secret stored at path, creating it (32
// random bytes, base64url, mode 0600) if the file does not exist. A file
// readable by others is narrowed to 0600.
func LoadOrCreateSecret(path string) (string, error) {
	s, err := ReadSecret(path)
	if err == nil {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(path, 0o600); err != nil {
				return "", fmt.Errorf("Temporal secret %s is readable by others and cannot be restricted: %v", path, err)
			}
		}
		return s, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	secret := base64.RawURLEncoding.EncodeToString(b)
	// Write a temporary file, then link it into place: a concurrent start
	// never reads a half-written secret, and the first one wins.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("Temporal secret: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".temporal-secret-*")
	if err != nil {
		return "", fmt.Errorf("Temporal secret: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", fmt.Errorf("Temporal secret: %w", err)
	}
	if _, err := tmp.WriteString(secret + "\n"); err != nil {
		tmp.Close()
		return "", fmt.Errorf("Temporal secret: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("Temporal secret: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return ReadSecret(path)
		}
		return "", fmt.Errorf("Temporal secret: %w", err)
	}
	return secret, nil
}

// ReadSecret reads a secret file (surrounding blanks ignored).
func ReadSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		return "", fmt.Errorf("read the Temporal secret: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if len(s) < MinSecretLen || strings.ContainsAny(s, " \t\r\n") {
		return "", fmt.Errorf("the Temporal secret in %s is not valid: one line of at least %d characters expected", path, MinSecretLen)
	}
	return s, nil
}

// Headers makes an SDK client present the secret: set it as
// client.Options.HeadersProvider.
func Headers(secret string) SecretHeaders { return SecretHeaders(secret) }

// SecretHeaders is an SDK headers provider (client.Options.HeadersProvider)
// sending the secret with every call.
type SecretHeaders string

// GetHeaders implements the SDK's HeadersProvider.
func (s SecretHeaders) GetHeaders(context.Context) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(s)}, nil
}

// SecretInterceptors make a raw gRPC connection (the Web UI's) present the
// secret, replacing any authorization metadata the call carries.
func SecretInterceptors(secret string) []grpc.DialOption {
	set := func(ctx context.Context) context.Context {
		md, _ := metadata.FromOutgoingContext(ctx)
		md = md.Copy()
		md.Set("authorization", "Bearer "+secret)
		return metadata.NewOutgoingContext(ctx, md)
	}
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return invoker(set(ctx), method, req, reply, cc, opts...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			return streamer(set(ctx), desc, cc, method, opts...)
		}),
	}
}

// secretClaims maps the secret to full rights and anything else to none
// (the default authorizer then answers PermissionDenied).
type secretClaims struct{ want []byte }

func (m secretClaims) GetClaims(ai *authorization.AuthInfo) (*authorization.Claims, error) {
	if ai == nil {
		return nil, nil
	}
	if subtle.ConstantTimeCompare([]byte(ai.AuthToken), m.want) == 1 {
		return &authorization.Claims{Subject: "civicflow", System: authorization.RoleAdmin, AuthType: "civicflow-secret"}, nil
	}
	return nil, nil
}

// internalServerName is the name in the internode certificate.
const internalServerName = "civicflow-temporal-internal"

// internodeTLS creates a CA and one certificate for all of the process's
// Temporal services, valid for server and client use, and the settings
// that make every internode connection mutual TLS. Nothing is written to
// disk: a new CA is made at every start.
func internodeTLS() (config.GroupTLS, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return config.GroupTLS{}, err
	}
	now := time.Now()
	serial := func() *big.Int {
		n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
		return n
	}
	caTmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "civicflow embedded Temporal CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(100 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, MaxPathLenZero: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return config.GroupTLS{}, err
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return config.GroupTLS{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: internalServerName},
		DNSNames:  []string{internalServerName},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(100 * 365 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return config.GroupTLS{}, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return config.GroupTLS{}, err
	}
	b64 := func(typ string, der []byte) string {
		return base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	caPEM := b64("CERTIFICATE", caDER)
	return config.GroupTLS{
		Server: config.ServerTLS{
			CertData: b64("CERTIFICATE", der), KeyData: b64("EC PRIVATE KEY", keyDER),
			ClientCAData: []string{caPEM}, RequireClientAuth: true,
		},
		Client: config.ClientTLS{ServerName: internalServerName, RootCAData: []string{caPEM}},
	}, nil
}
