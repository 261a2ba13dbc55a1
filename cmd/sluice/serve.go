package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/segment"
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/kinesis"
)

var _ = registerCommand(&command{
	name:    "serve",
	summary: "serve the AWS APIs on one port (SQS, SNS, Kinesis, Firehose)",
	run:     runServe,
})

// serveConfig is what the serve flags and SLUICE_* variables set.
type serveConfig struct {
	addr        string
	dataDir     string
	fsync       string
	logLevel    string
	hostname    string
	accountID   string
	enableReset bool
	// kinesisLimits is "none" (default) or "aws": enforce AWS's per-shard
	// throughput limits.
	kinesisLimits string
	// kinesisShardLimit is the account shard quota Kinesis DescribeLimits
	// reports, enforced with kinesisLimits "aws".
	kinesisShardLimit int
	// kinesisTransitionDelay is how long Kinesis streams read CREATING,
	// UPDATING and DELETING; 0 (default) makes transitions immediate.
	kinesisTransitionDelay time.Duration
	// debugAddr, when set, serves Go runtime profiles (net/http/pprof) on
	// a second listener.
	debugAddr string
	// steadySysmon is read by main before the flags are parsed
	// (sysmon.go); the flag exists so that it parses and shows in -h.
	steadySysmon bool
}

// shutdownTimeout bounds the drain of in-flight requests after a signal;
// long polls are cancelled at once, so only slow writes can take this long.
const shutdownTimeout = 30 * time.Second

// parseServeFlags reads flags, falling back to SLUICE_<FLAG> environment
// variables (flag > environment > default).
func parseServeFlags(args []string, getenv func(string) string, stderr io.Writer) (serveConfig, error) {
	var c serveConfig
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	envBool := func(name string, def bool) (bool, error) {
		v := getenv(name)
		if v == "" {
			return def, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return def, fmt.Errorf("%s=%q: want true or false", name, v)
		}
		return b, nil
	}
	enableReset, err := envBool("SLUICE_ENABLE_RESET", false)
	if err != nil {
		return c, err
	}
	steadySysmon, err := envBool(steadySysmonEnv, true)
	if err != nil {
		return c, err
	}
	var transitionDelay time.Duration
	if v := getenv("SLUICE_KINESIS_TRANSITION_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return c, fmt.Errorf("SLUICE_KINESIS_TRANSITION_DELAY=%q: want a duration such as 10s", v)
		}
		transitionDelay = d
	}
	shardLimit := 20_000
	if v := getenv("SLUICE_KINESIS_SHARD_LIMIT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return c, fmt.Errorf("SLUICE_KINESIS_SHARD_LIMIT=%q: want a number of shards", v)
		}
		shardLimit = n
	}
	fs := flag.NewFlagSet("sluice serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", env("SLUICE_ADDR", server.DefaultAddr), "listen address (env SLUICE_ADDR)")
	fs.StringVar(&c.dataDir, "data", env("SLUICE_DATA", "./sluice-data"), "data directory (env SLUICE_DATA)")
	fs.StringVar(&c.fsync, "fsync", env("SLUICE_FSYNC", "always"),
		"when writes are acknowledged: always | interval=DURATION | never (env SLUICE_FSYNC)")
	fs.StringVar(&c.logLevel, "log-level", env("SLUICE_LOG_LEVEL", "info"), "debug | info | warn | error (env SLUICE_LOG_LEVEL)")
	fs.StringVar(&c.hostname, "hostname", env("SLUICE_HOSTNAME", ""),
		"host[:port] used in URLs handed to clients such as queue URLs; empty: the request's Host (env SLUICE_HOSTNAME)")
	fs.StringVar(&c.accountID, "account-id", env("SLUICE_ACCOUNT_ID", server.DefaultAccountID), "12-digit AWS account id (env SLUICE_ACCOUNT_ID)")
	fs.StringVar(&c.kinesisLimits, "kinesis-limits", env("SLUICE_KINESIS_LIMITS", "none"),
		"none | aws: enforce AWS's per-shard Kinesis throughput limits (1 MiB/s and 1,000 records/s in, 2 MiB/s and 5 reads/s out) and the account quotas (--kinesis-shard-limit provisioned shards, 50 ON_DEMAND streams) (env SLUICE_KINESIS_LIMITS)")
	fs.IntVar(&c.kinesisShardLimit, "kinesis-shard-limit", shardLimit,
		"the account's Kinesis shard quota (open shards of PROVISIONED streams): reported by DescribeLimits, enforced on CreateStream, SplitShard, UpdateShardCount and UpdateStreamMode with --kinesis-limits aws (env SLUICE_KINESIS_SHARD_LIMIT)")
	fs.DurationVar(&c.kinesisTransitionDelay, "kinesis-transition-delay", transitionDelay,
		"how long Kinesis streams stay CREATING, UPDATING and DELETING, as on AWS; 0: transitions are immediate (env SLUICE_KINESIS_TRANSITION_DELAY)")
	fs.StringVar(&c.debugAddr, "debug-addr", env("SLUICE_DEBUG_ADDR", ""),
		"serve Go runtime profiles (/debug/pprof/) on this address, e.g. 127.0.0.1:6060; empty: off (env SLUICE_DEBUG_ADDR)")
	fs.BoolVar(&c.enableReset, "enable-reset", enableReset,
		"serve POST /_sluice/reset, which deletes all resources and data (env SLUICE_ENABLE_RESET)")
	fs.BoolVar(&c.steadySysmon, "steady-sysmon", steadySysmon,
		"keep the Go runtime's monitor thread out of deep sleep (GODEBUG=schedtrace, set by re-executing at start): 10-26% less CPU under load, ~0.5% of a core more when idle (env "+steadySysmonEnv+")")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.kinesisLimits != "none" && c.kinesisLimits != "aws" {
		return c, fmt.Errorf("--kinesis-limits %q: want none or aws", c.kinesisLimits)
	}
	if c.kinesisShardLimit < 1 {
		return c, fmt.Errorf("--kinesis-shard-limit %d: must be at least 1", c.kinesisShardLimit)
	}
	if c.kinesisTransitionDelay < 0 {
		return c, fmt.Errorf("--kinesis-transition-delay %v: must not be negative", c.kinesisTransitionDelay)
	}
	return c, nil
}

func parseLogLevel(s string) (slog.Level, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return level, nil
}

func runServe(ctx context.Context, args []string, getenv func(string) string, _, stderr io.Writer) int {
	c, err := parseServeFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "sluice serve: %v\n", err)
		return 2
	}
	level, err := parseLogLevel(c.logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "sluice serve: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := serve(ctx, c, logger); err != nil {
		logger.Error("sluice: exiting", "err", err)
		return 1
	}
	return 0
}

// serve opens the engine, serves until ctx is cancelled, then drains
// in-flight requests and closes the engine.
func serve(ctx context.Context, c serveConfig, logger *slog.Logger) (err error) {
	policy, err := segment.ParseSyncPolicy(c.fsync)
	if err != nil {
		return fmt.Errorf("--fsync: %w", err)
	}
	cfg := server.Config{Addr: c.addr, Hostname: c.hostname, AccountID: c.accountID, EnableReset: c.enableReset, Logger: logger}
	if err := cfg.EnsureDefaults().Validate(); err != nil {
		return err
	}
	db, err := engine.Open(c.dataDir, &engine.Options{Sync: policy, Logger: logger})
	if err != nil {
		return fmt.Errorf("opening %s: %w", c.dataDir, err)
	}
	db.SetStreamLimits(c.kinesisLimits == "aws")
	db.SetStreamTransitionDelay(c.kinesisTransitionDelay)
	defer func() {
		if closeErr := db.Close(); closeErr != nil {
			err = errors.Join(err, fmt.Errorf("closing the engine: %w", closeErr))
			return
		}
		logger.Info("sluice: engine closed", "data", c.dataDir)
	}()
	srv, err := server.New(db, cfg)
	if err != nil {
		return err
	}
	svcs, err := services(db, logger, kinesis.Config{
		ShardLimit:        c.kinesisShardLimit,
		EnforceShardLimit: c.kinesisLimits == "aws",
	})
	if err != nil {
		return err
	}
	for _, svc := range svcs {
		if err := srv.Register(svc); err != nil {
			return err
		}
	}
	if c.debugAddr != "" {
		stopDebug, err := startDebugServer(context.WithoutCancel(ctx), c.debugAddr, logger)
		if err != nil {
			return fmt.Errorf("--debug-addr %s: %w", c.debugAddr, err)
		}
		defer stopDebug()
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	logger.Info("sluice: starting", "version", version, "data", c.dataDir, "fsync", policy.String(), "enable_reset", c.enableReset,
		"steady_sysmon", steadySysmonActive(os.Getenv))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return err // the listener failed; nothing is in flight
	case <-ctx.Done():
	}
	logger.Info("sluice: signal received, draining in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	return <-served
}
