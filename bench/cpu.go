package bench

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/cputime"
)

// ErrProcStat reports an unreadable or malformed /proc/PID/stat.
var ErrProcStat = errors.New("bench: bad /proc stat")

// clockTicksPerSecond is the kernel's USER_HZ for /proc/PID/stat times,
// read from the auxiliary vector (AT_CLKTCK); 100 if that fails, which is
// what every mainstream Linux build uses.
var clockTicksPerSecond = func() int64 {
	const atClockTick = 17
	data, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return 100
	}
	for len(data) >= 16 {
		key := binary.NativeEndian.Uint64(data[0:8])
		value := binary.NativeEndian.Uint64(data[8:16])
		if key == atClockTick && value > 0 {
			return int64(value)
		}
		data = data[16:]
	}
	return 100
}()

// ProcessCPU returns the user+system CPU time consumed so far by process
// pid (all threads), from /proc/PID/stat.
func ProcessCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrProcStat, err)
	}
	return parseProcStat(data)
}

// parseProcStat extracts utime+stime (fields 14 and 15) from a stat line.
// The command name (field 2) may hold spaces and parentheses, so fields are
// counted from the last ')'.
func parseProcStat(data []byte) (time.Duration, error) {
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return 0, fmt.Errorf("%w: no command name", ErrProcStat)
	}
	fields := strings.Fields(string(data[end+1:]))
	// fields[0] is field 3 (state); utime is field 14 → index 11.
	if len(fields) < 13 {
		return 0, fmt.Errorf("%w: %d fields", ErrProcStat, len(fields))
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil || utime < 0 || stime < 0 {
		return 0, fmt.Errorf("%w: utime %q stime %q", ErrProcStat, fields[11], fields[12])
	}
	ticks := utime + stime
	return time.Duration(ticks * int64(time.Second) / clockTicksPerSecond), nil
}

// cpuSampler measures CPU time of the server (when a PID is given) and of
// the bench client over the measured interval.
type cpuSampler struct {
	pid                      int
	serverStart, clientStart time.Duration
	serverUsed, clientUsed   time.Duration
	serverErr                error
}

func (c *cpuSampler) mark(start bool) {
	client, _ := cputime.Self()
	var server time.Duration
	if c.pid > 0 {
		var err error
		server, err = ProcessCPU(c.pid)
		if err != nil && c.serverErr == nil {
			c.serverErr = err
		}
	}
	if start {
		c.serverStart, c.clientStart = server, client
		return
	}
	c.serverUsed, c.clientUsed = server-c.serverStart, client-c.clientStart
}
