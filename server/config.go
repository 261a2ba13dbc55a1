package server

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Config configures the HTTP server. The zero value plus EnsureDefaults is a
// working configuration.
type Config struct {
	// Addr is the listen address for ListenAndServe. Default: ":4566".
	Addr string
	// Hostname is the host (optionally host:port) used in URLs handed to
	// clients, such as SQS queue URLs. Empty: the request's Host header.
	// Without a port, the request's port is appended. Default: "".
	Hostname string
	// AccountID is the 12-digit AWS account every request acts in.
	// Default: "000000000000".
	AccountID string
	// EnableReset serves POST /_sluice/reset, which deletes every resource
	// and its data. Default: false.
	EnableReset bool
	// MaxRequestBodyBytes bounds request bodies. Kinesis PutRecords carries
	// up to 10 MiB of data, base64-encoded in JSON (~13.4 MiB), so this must
	// stay above that. Default: 16 MiB. Minimum: 16 MiB.
	MaxRequestBodyBytes int
	// ReadTimeout bounds reading one request (headers and body) once its
	// first byte arrived. Default: 60s. Minimum: 25s.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing one response once the handler returned.
	// It is kept above the longest long poll (SQS ReceiveMessage waits up
	// to 20s) so that proxies and clients tuned to AWS see no difference.
	// Default: 60s. Minimum: 25s.
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for its next
	// request. Default: 120s.
	IdleTimeout time.Duration
	// MaxConnections bounds concurrent connections (each long poll holds
	// one). Default: 10000.
	MaxConnections int
	// Logger receives request errors and lifecycle messages.
	// Default: slog.Default().
	Logger *slog.Logger
}

// Limits and defaults.
const (
	DefaultAddr                = ":4566"
	DefaultAccountID           = "000000000000"
	MinRequestBodyBytes        = 16 << 20
	DefaultMaxRequestBodyBytes = MinRequestBodyBytes
	MinTimeout                 = 25 * time.Second
	defaultReadTimeout         = 60 * time.Second
	defaultWriteTimeout        = 60 * time.Second
	defaultIdleTimeout         = 120 * time.Second
	defaultMaxConnections      = 10000
)

// ErrInvalidConfig is wrapped by every Config.Validate error.
var ErrInvalidConfig = errors.New("server: invalid config")

// EnsureDefaults fills zero fields with their defaults and returns c.
func (c *Config) EnsureDefaults() *Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.AccountID == "" {
		c.AccountID = DefaultAccountID
	}
	if c.MaxRequestBodyBytes == 0 {
		c.MaxRequestBodyBytes = DefaultMaxRequestBodyBytes
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = defaultReadTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = defaultWriteTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = defaultIdleTimeout
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = defaultMaxConnections
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports the first invalid field, wrapping ErrInvalidConfig.
func (c *Config) Validate() error {
	if len(c.AccountID) != 12 || !allDigits(c.AccountID) {
		return fmt.Errorf("%w: AccountID %q must be 12 digits", ErrInvalidConfig, c.AccountID)
	}
	if c.MaxRequestBodyBytes < MinRequestBodyBytes {
		return fmt.Errorf("%w: MaxRequestBodyBytes %d is below the minimum %d", ErrInvalidConfig, c.MaxRequestBodyBytes, MinRequestBodyBytes)
	}
	if c.ReadTimeout < MinTimeout || c.WriteTimeout < MinTimeout {
		return fmt.Errorf("%w: ReadTimeout %s and WriteTimeout %s must be at least %s (SQS long polls last 20s)", ErrInvalidConfig, c.ReadTimeout, c.WriteTimeout, MinTimeout)
	}
	if c.IdleTimeout < 0 {
		return fmt.Errorf("%w: negative IdleTimeout", ErrInvalidConfig)
	}
	if c.MaxConnections < 1 {
		return fmt.Errorf("%w: MaxConnections %d must be positive", ErrInvalidConfig, c.MaxConnections)
	}
	for i := 0; i < len(c.Hostname); i++ {
		if ch := c.Hostname[i]; ch <= ' ' || ch == '/' || ch >= 0x7f {
			return fmt.Errorf("%w: Hostname %q must be a bare host or host:port", ErrInvalidConfig, c.Hostname)
		}
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
