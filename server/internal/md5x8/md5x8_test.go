package md5x8

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func check(t testing.TB, msgs []string) {
	t.Helper()
	out := make([][Size]byte, len(msgs))
	Sums(out, msgs)
	for i, m := range msgs {
		if want := md5.Sum([]byte(m)); out[i] != want {
			t.Fatalf("message %d of %d (%d bytes): got %x, want %x", i, len(msgs), len(m), out[i], want)
		}
	}
	if useAVX2 && len(msgs) > 0 {
		// The vector path directly, also for counts Sums hashes one by one.
		clear(out)
		sums8(out, msgs)
		for i, m := range msgs {
			if want := md5.Sum([]byte(m)); out[i] != want {
				t.Fatalf("sums8: message %d of %d (%d bytes): got %x, want %x", i, len(msgs), len(m), out[i], want)
			}
		}
	}
}

func randomString(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return string(b)
}

// TestPaddingBoundaries covers every length around the one- and
// two-tail-block cases (55, 56, 63, 64, 119, 120 …) in lanes of equal and
// unequal lengths.
func TestPaddingBoundaries(t *testing.T) {
	if !useAVX2 {
		t.Log("no AVX2 here: only the crypto/md5 path is tested")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 200; n++ {
		same := make([]string, 9)
		for i := range same {
			same[i] = randomString(r, n)
		}
		check(t, same)
		mixed := make([]string, 8)
		for i := range mixed {
			mixed[i] = randomString(r, (n+37*i)%300)
		}
		check(t, mixed)
	}
}

// TestManyMessages runs more messages than lanes, of very different
// lengths, so that lanes finish at different blocks and are refilled.
func TestManyMessages(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for count := 0; count <= 40; count++ {
		msgs := make([]string, count)
		for i := range msgs {
			switch r.IntN(4) {
			case 0:
				msgs[i] = ""
			case 1:
				msgs[i] = randomString(r, r.IntN(64))
			case 2:
				msgs[i] = randomString(r, 1024)
			default:
				msgs[i] = randomString(r, r.IntN(20000))
			}
		}
		check(t, msgs)
	}
	check(t, []string{strings.Repeat("a", 1<<20), "b", "", strings.Repeat("c", 1000)})
}

// TestKnownVectors checks RFC 1321's test suite through the vector path.
func TestKnownVectors(t *testing.T) {
	vectors := map[string]string{
		"":                           "d41d8cd98f00b204e9800998ecf8427e",
		"a":                          "0cc175b9c0f1b6a831c399e269772661",
		"abc":                        "900150983cd24fb0d6963f7d28e17f72",
		"message digest":             "f96b697d7cb7938d525a2f31aaf161d0",
		"abcdefghijklmnopqrstuvwxyz": "c3fcd3d76192e4007dfb496cca67e13b",
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789":                   "d174ab98d277d9f5a5611c2c9f419d9f",
		"12345678901234567890123456789012345678901234567890123456789012345678901234567890": "57edf4a22be3c955ac49da2e2107b67a",
	}
	var msgs, want []string
	for m, w := range vectors {
		msgs, want = append(msgs, m), append(want, w)
	}
	out := make([][Size]byte, len(msgs))
	Sums(out, msgs)
	for i := range msgs {
		if got := hex.EncodeToString(out[i][:]); got != want[i] {
			t.Errorf("MD5(%q) = %s, want %s", msgs[i], got, want[i])
		}
	}
}

func FuzzSums(f *testing.F) {
	f.Add([]byte("hello"), uint8(3), uint16(1))
	f.Add(make([]byte, 1200), uint8(10), uint16(55))
	f.Fuzz(func(t *testing.T, data []byte, count uint8, step uint16) {
		// count messages cut from data, each starting step bytes after the
		// one before, with lengths that wrap around data.
		n := int(count % 24)
		msgs := make([]string, n)
		for i := range msgs {
			if len(data) == 0 {
				break
			}
			start := (i * int(step)) % len(data)
			end := start + (i*int(step)+i)%(len(data)-start+1)
			msgs[i] = string(data[start:end])
		}
		check(t, msgs)
	})
}

func BenchmarkSums(b *testing.B) {
	for _, size := range []int{100, 1024, 65536} {
		for _, count := range []int{1, 3, 8, 10} {
			msgs := make([]string, count)
			r := rand.New(rand.NewPCG(5, 6))
			for i := range msgs {
				msgs[i] = randomString(r, size)
			}
			out := make([][Size]byte, count)
			b.Run(benchName(size, count, "md5x8"), func(b *testing.B) {
				b.SetBytes(int64(size * count))
				for b.Loop() {
					Sums(out, msgs)
				}
			})
			b.Run(benchName(size, count, "crypto-md5"), func(b *testing.B) {
				b.SetBytes(int64(size * count))
				for b.Loop() {
					for i, m := range msgs {
						out[i] = md5.Sum([]byte(m))
					}
				}
			})
		}
	}
}

func benchName(size, count int, impl string) string {
	return fmt.Sprintf("%s/%dBx%d", impl, size, count)
}
