package temporalserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
)

// ports are the embedded server's listening ports, kept beside its database
// so that a restart reuses them.
type ports struct {
	Frontend           int `json:"frontend"`
	FrontendMembership int `json:"frontendMembership"`
	History            int `json:"history"`
	HistoryMembership  int `json:"historyMembership"`
	Matching           int `json:"matching"`
	MatchingMembership int `json:"matchingMembership"`
	Worker             int `json:"worker"`
	WorkerMembership   int `json:"workerMembership"`
	Metrics            int `json:"metrics"`
	// The internal frontend of Temporal's own services (mTLS).
	InternalFrontend           int `json:"internalFrontend"`
	InternalFrontendMembership int `json:"internalFrontendMembership"`
}

func portsFile(opts Options) string {
	if opts.DatabasePath == "" {
		return ""
	}
	return opts.DatabasePath + ".ports.json"
}

// loadPorts returns the saved ports that are still free, and fresh free
// ports for the others.
func loadPorts(opts Options) (ports, error) {
	var p ports
	if f := portsFile(opts); f != "" {
		if b, err := os.ReadFile(f); err == nil {
			_ = json.Unmarshal(b, &p)
		} else if !errors.Is(err, os.ErrNotExist) {
			return p, fmt.Errorf("read %s: %w", f, err)
		}
	}
	v := reflect.ValueOf(&p).Elem()
	taken := map[int]bool{}
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		port := int(f.Int())
		if port > 0 && !taken[port] && (i == 0 && opts.FrontendPort != 0 || portFree(opts.IP, port) == nil) {
			taken[port] = true
			continue
		}
		for {
			n, err := freePort(opts.IP)
			if err != nil {
				return p, err
			}
			if !taken[n] && n != opts.FrontendPort {
				f.SetInt(int64(n))
				taken[n] = true
				break
			}
		}
	}
	return p, nil
}

func savePorts(opts Options, p ports) error {
	f := portsFile(opts)
	if f == "" {
		return nil
	}
	b, _ := json.MarshalIndent(p, "", "  ")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", f, err)
	}
	if err := os.Chmod(f, 0o600); err != nil { // it may predate the 0600 rule
		return fmt.Errorf("chmod %s: %w", f, err)
	}
	return nil
}
