package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sluice-dev/sluice/bench/noop"
	"github.com/sluice-dev/sluice/bench/peers"
)

const usageText = `usage:
  sluice bench SCENARIO [flags]          run one scenario
  sluice bench list                      list scenarios
  sluice bench peers start|stop|status [NAME…] [--dir .cache]
                                         reference servers on loopback (noop, moto, goaws, kinesalite)
  sluice bench noop [--listen ADDR]      run the no-op ceiling server in the foreground
  sluice bench report [flags]            the standard matrix → bench/RESULTS.md + bench/reports/

Examples:
  sluice bench sqs-send --endpoint http://127.0.0.1:4566 --concurrency 16 --duration 10s
  sluice bench sqs-e2e --endpoint http://127.0.0.1:4566 --rate 2000 --size 512:0.5,4096:0.5
  sluice bench kinesis-put-batch --compare sluice=http://127.0.0.1:4566,noop=http://127.0.0.1:4601 --rounds 3
  sluice bench sqs-send --region eu-west-1 --queue my-existing-queue      (AWS itself)

Scenario flags:
`

// Main runs the bench command line (args exclude "sluice bench") and returns
// the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := main1(ctx, args, stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "sluice bench:", err)
		return 1
	}
	return 0
}

func main1(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		newScenarioFlags(stderr).fs.PrintDefaults()
		return fmt.Errorf("%w: missing scenario", ErrBadConfig)
	}
	switch args[0] {
	case "list":
		for _, s := range Scenarios() {
			fmt.Fprintf(stdout, "%-18s %-8s %s\n", s.Name, s.Service, s.Summary)
		}
		return nil
	case "peers":
		return peersCommand(ctx, args[1:], stdout, stderr)
	case "noop":
		return noopCommand(ctx, args[1:], stderr)
	case "report":
		return reportCommand(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usageText)
		newScenarioFlags(stdout).fs.PrintDefaults()
		return nil
	}
	return scenarioCommand(ctx, args, stdout, stderr)
}

// scenarioFlags binds the scenario flags to a Config.
type scenarioFlags struct {
	fs       *flag.FlagSet
	cfg      Config
	json     bool
	html     string
	compare  string
	rounds   int
	scenario string
}

func newScenarioFlags(output io.Writer) *scenarioFlags {
	f := &scenarioFlags{cfg: DefaultConfig()}
	fs := flag.NewFlagSet("sluice bench", flag.ContinueOnError)
	fs.SetOutput(output)
	c := &f.cfg
	fs.StringVar(&c.Endpoint, "endpoint", "", "server base URL; omit to target AWS (default credential chain and region)")
	fs.StringVar(&c.Region, "region", "", "signing region (default: the SDK's, or us-east-1 with --endpoint)")
	fs.StringVar(&c.Protocol, "protocol", c.Protocol, "SQS protocol: json (SDK) or query (signed form POSTs)")
	fs.IntVar(&c.Concurrency, "concurrency", c.Concurrency, "producer workers (closed loop) or max outstanding requests (with --rate)")
	fs.IntVar(&c.Consumers, "consumers", 0, "consumers for sqs-e2e/sqs-fifo (default: --concurrency)")
	fs.DurationVar(&c.Duration, "duration", c.Duration, "measured interval")
	fs.Int64Var(&c.Count, "count", 0, "measured operations (overrides --duration)")
	fs.DurationVar(&c.Warmup, "warmup", 0, "unmeasured lead-in")
	fs.Var(&c.Size, "size", "payload bytes, or a distribution like 512:0.5,4096:0.5 (default 1024)")
	fs.IntVar(&c.Batch, "batch", 0, "entries per batch request (default: 10 for SQS batches, 100 PutRecords, 1000 GetRecords limit)")
	fs.IntVar(&c.Shards, "shards", c.Shards, "shards of the created stream")
	fs.IntVar(&c.Groups, "groups", c.Groups, "message groups for sqs-fifo")
	fs.IntVar(&c.Prefill, "prefill", c.Prefill, "messages/records written before sqs-recv-delete and kinesis-get")
	fs.DurationVar(&c.PrefillTimeout, "prefill-timeout", c.PrefillTimeout, "bound on the prefill step")
	fs.Float64Var(&c.Rate, "rate", 0, "open loop: operations per second at fixed intervals; latency counts from the intended send time")
	fs.StringVar(&c.Queue, "queue", "", "use this existing queue instead of creating and deleting one")
	fs.StringVar(&c.Stream, "stream", "", "use this existing stream instead of creating and deleting one")
	fs.DurationVar(&c.Grace, "grace", c.Grace, "how long requests in flight at the end may finish before counting as abandoned")
	fs.DurationVar(&c.Wait, "wait", c.Wait, "SQS consumer long-poll wait")
	fs.DurationVar(&c.PollInterval, "poll-interval", c.PollInterval, "Kinesis reader pause after an empty GetRecords")
	fs.IntVar(&c.ServerPID, "server-pid", 0, "sample this process's CPU time (/proc/PID/stat) and report server µs per message")
	fs.Uint64Var(&c.Seed, "seed", 0, "random seed (default: time-based)")
	fs.BoolVar(&f.json, "json", false, "print one JSON object per run instead of the table")
	fs.StringVar(&f.html, "html", "", "also write a self-contained HTML report to this file")
	fs.StringVar(&f.compare, "compare", "", "comma-separated [name=]URL[@PID] list: run against each, interleaved, for --rounds rounds")
	fs.IntVar(&f.rounds, "rounds", 3, "rounds for --compare")
	f.fs = fs
	return f
}

// parseInterleaved accepts the scenario name before or after the flags.
func (f *scenarioFlags) parse(args []string) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		f.scenario, args = args[0], args[1:]
	}
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	if f.scenario == "" && f.fs.NArg() > 0 {
		f.scenario = f.fs.Arg(0)
	} else if f.fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", ErrBadConfig, f.fs.Args())
	}
	if f.scenario == "" {
		return fmt.Errorf("%w: missing scenario (see `sluice bench list`)", ErrBadConfig)
	}
	if _, ok := LookupScenario(f.scenario); !ok {
		return fmt.Errorf("%w: %q (see `sluice bench list`)", ErrUnknownScenario, f.scenario)
	}
	return nil
}

// isTerminal reports whether w is a character device (a terminal), where
// the live progress line belongs.
func isTerminal(w io.Writer) bool {
	file, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := file.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

func scenarioCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newScenarioFlags(stderr)
	if err := f.parse(args); err != nil {
		return err
	}
	if isTerminal(stderr) {
		f.cfg.Progress = stderr
	}
	var results []*Result
	if f.compare != "" {
		targets, err := ParseTargets(f.compare)
		if err != nil {
			return err
		}
		results, err = Compare(ctx, f.scenario, f.cfg, targets, f.rounds)
		if err != nil {
			return err
		}
	} else {
		res, err := RunScenario(ctx, f.scenario, f.cfg)
		if err != nil {
			return err
		}
		results = []*Result{res}
	}
	if err := writeOutputs(stdout, f, results); err != nil {
		return err
	}
	for _, r := range results {
		if r.Errors > 0 {
			return fmt.Errorf("%d request errors in %s @ %s", r.Errors, r.Scenario, r.Target)
		}
	}
	return nil
}

func writeOutputs(stdout io.Writer, f *scenarioFlags, results []*Result) error {
	var err error
	switch {
	case f.json:
		err = WriteJSON(stdout, results)
	case f.compare != "":
		if err = WriteTable(stdout, results); err == nil {
			fmt.Fprintln(stdout)
			err = WriteCompare(stdout, Summarize(results))
		}
	default:
		err = WriteTable(stdout, results)
	}
	if err != nil {
		return err
	}
	if f.html == "" {
		return nil
	}
	file, err := os.Create(f.html)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := WriteHTML(file, "sluice bench "+f.scenario, results); err != nil {
		_ = file.Close()
		return err
	}
	if err := file.Close(); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

func noopCommand(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("sluice bench noop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:4601", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	srv, err := noop.Start(*listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "noop server listening on %s\n", srv.URL())
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Wait() }()
	select {
	case <-ctx.Done():
		return srv.Close()
	case err := <-stopped:
		return err
	}
}

func peersCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sluice bench peers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	m := &peers.Manager{Log: func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }}
	fs.StringVar(&m.Dir, "dir", ".cache", "directory for installed tools, PID files and logs")
	fs.StringVar(&m.Sluice, "sluice", "", "sluice binary serving the noop peer (default: this one)")
	if len(args) == 0 {
		return fmt.Errorf("%w: peers start|stop|status [NAME…]", ErrBadConfig)
	}
	verb := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	names := fs.Args()
	switch verb {
	case "start":
		ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
		defer cancel()
		statuses, err := m.Start(ctx, names)
		printStatuses(stdout, statuses)
		return err
	case "stop":
		return m.Stop(names)
	case "status":
		statuses, err := m.Statuses(names)
		printStatuses(stdout, statuses)
		return err
	}
	return fmt.Errorf("%w: peers %q: want start, stop or status", ErrBadConfig, verb)
}

func printStatuses(w io.Writer, statuses []peers.Status) {
	for _, s := range statuses {
		state := "stopped"
		if s.Running {
			state = fmt.Sprintf("running pid %d", s.PID)
		}
		fmt.Fprintf(w, "%-11s %-24s %-18s %s\n", s.Peer.Name, s.Endpoint, state, strings.Join(s.Peer.Services, ","))
	}
}
