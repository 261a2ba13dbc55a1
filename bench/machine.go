package bench

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// Machine describes where a report was produced.
type Machine struct {
	Cores    int
	CPUModel string
	Kernel   string
	Disk     string // device, filesystem and rotational flag of the data directory
	Commit   string
}

// DescribeMachine gathers what it can; missing facts read "unknown".
func DescribeMachine(dataDir string) Machine {
	m := Machine{Cores: runtime.NumCPU(), CPUModel: "unknown", Kernel: "unknown", Disk: "unknown", Commit: "unknown"}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		scanner := bufio.NewScanner(bytes.NewReader(data))
		for scanner.Scan() {
			if key, value, ok := strings.Cut(scanner.Text(), ":"); ok && strings.TrimSpace(key) == "model name" {
				m.CPUModel = strings.TrimSpace(value)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(data))
	}
	m.Disk = describeDisk(dataDir)
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
		if status, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(status)) > 0 {
			m.Commit += " (with uncommitted changes)"
		}
	}
	return m
}

// describeDisk finds the mount holding dir in /proc/self/mounts (longest
// mount-point prefix) and whether its block device is rotational.
func describeDisk(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "unknown"
	}
	data, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return "unknown"
	}
	var device, fsType, mountPoint string
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 3 {
			continue
		}
		mp := fields[1]
		if (abs == mp || strings.HasPrefix(abs, strings.TrimSuffix(mp, "/")+"/")) && len(mp) >= len(mountPoint) {
			device, mountPoint, fsType = fields[0], mp, fields[2]
		}
	}
	if device == "" {
		return "unknown"
	}
	desc := device + " (" + fsType + " on " + mountPoint + ")"
	name := filepath.Base(device)
	for _, candidate := range []string{name, strings.TrimRight(name, "0123456789"), strings.TrimSuffix(strings.TrimRight(name, "0123456789"), "p")} {
		if rot, err := os.ReadFile("/sys/block/" + candidate + "/queue/rotational"); err == nil {
			if strings.TrimSpace(string(rot)) == "1" {
				return desc + ", rotational"
			}
			return desc + ", SSD/NVMe"
		}
	}
	return desc
}
