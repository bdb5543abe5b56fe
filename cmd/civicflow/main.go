// Command civicflow is the whole civicflow product in one binary: the web
// server with its worker and embedded Temporal server (serve), stand-alone
// workers for scale-out (worker), migrations, flow validation, user and
// audit administration.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/civicflow/civicflow/internal/app"
	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/store"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `civicflow — the open-data factory of a collectivité

usage: civicflow <command> [flags]

commands:
  serve        run the web server, a worker and (by default) an embedded Temporal server
  worker       run a worker only, against an existing Temporal cluster and database
  migrate      apply database migrations
  flow         flow validate FILE.bpmn
  user         user add|list|grant|revoke|passwd
  department   department add|list
  audit        audit verify
  version      print the version

Run "civicflow <command> --help" for the flags of a command.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "serve":
		err = runServe(ctx, args[1:], stdout, stderr)
	case "worker":
		err = runWorker(ctx, args[1:], stdout, stderr)
	case "migrate":
		err = runMigrate(ctx, args[1:], stdout, stderr)
	case "flow":
		err = runFlow(ctx, args[1:], stdout, stderr)
	case "user":
		err = runUser(ctx, args[1:])
	case "department":
		err = runDepartment(ctx, args[1:])
	case "audit":
		err = runAudit(ctx, args[1:])
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, versionString())
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "civicflow: unknown command %q (civicflow help lists the commands)\n", args[0])
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ec exitCode
	if errors.As(err, &ec) {
		return int(ec)
	}
	if err != nil {
		fmt.Fprintf(stderr, "civicflow %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// exitCode ends the process with a status, the message already printed.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v = "dev-" + s.Value[:12]
			}
		}
	}
	return "civicflow " + v
}

// parse builds the config of a subcommand from defaults, flags and env.
func parse(name string, groups int, args []string, stdout io.Writer, summary string) (config.Config, *flag.FlagSet, error) {
	cfg := config.Default()
	fs := cfg.FlagSet(name, groups)
	if err := config.Parse(fs, args, os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			config.Usage(stdout, fs, summary)
		}
		return cfg, fs, err
	}
	if v := os.Getenv("CIVICFLOW_DEMO_PASSWORD"); v != "" {
		cfg.DemoPassword = v
	}
	if err := cfg.Validate(groups); err != nil {
		return cfg, fs, err
	}
	return cfg, fs, nil
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, _, err := parse("serve", config.FlagsCommon|config.FlagsTemporal|config.FlagsHTTP, args, stdout,
		"Runs the web server, a worker and, unless --temporal names a cluster, an embedded Temporal server.")
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	slog.SetDefault(log)
	a, err := app.Start(ctx, cfg, log, app.Mode{HTTP: true, Worker: cfg.RunWorker})
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-a.Done():
		if err != nil {
			log.Error("http server stopped", "err", err)
		}
	}
	a.Stop()
	log.Info("stopped")
	return nil
}

func runWorker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, _, err := parse("worker", config.FlagsCommon|config.FlagsTemporal, args, stdout,
		"Runs a worker only; point it at the Temporal cluster (--temporal HOST:PORT) and the database of the installation.")
	if err != nil {
		return err
	}
	if cfg.Embedded() {
		return errors.New("--temporal HOST:PORT is required: a worker joins an existing Temporal server (civicflow serve runs the embedded one)")
	}
	log := newLogger(cfg, stderr)
	slog.SetDefault(log)
	a, err := app.Start(ctx, cfg, log, app.Mode{Worker: true})
	if err != nil {
		return err
	}
	<-ctx.Done()
	log.Info("draining worker")
	a.Stop()
	log.Info("stopped")
	return nil
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, _, err := parse("migrate", config.FlagsCommon, args, stdout, "Applies the database migrations and prints the schema version.")
	if err != nil {
		return err
	}
	s, err := openStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer s.Close()
	v, err := s.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database schema at version %d (%s)\n", v, s.Dialect())
	return nil
}

// openStore opens the configured database.
func openStore(ctx context.Context, cfg config.Config, migrate bool) (*store.Store, error) {
	url := cfg.DB
	if cfg.DBKind() == "sqlite" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data directory %s: %v", cfg.DataDir, err)
		}
		app.Privatise(cfg, slog.Default())
		url = cfg.SQLitePath()
	}
	return store.Open(ctx, store.Options{URL: url, Migrate: migrate})
}
