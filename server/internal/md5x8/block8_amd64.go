//go:build amd64 && !purego

package md5x8

import "golang.org/x/sys/cpu"

//go:generate go run gen.go -out block8_amd64.s

var useAVX2 = cpu.X86.HasAVX2

// block8 hashes one 64-byte block of each of eight messages: lane l reads
// ptrs[l][0:64] and updates dig[0..3][l] (MD5's a, b, c, d).
//
//go:noescape
func block8(dig *[4][8]uint32, ptrs *[8]*byte)
