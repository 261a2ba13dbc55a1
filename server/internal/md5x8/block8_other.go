//go:build !amd64 || purego

package md5x8

const useAVX2 = false

func block8(dig *[4][8]uint32, ptrs *[8]*byte) {
	panic("md5x8: no vector block function on this platform")
}
