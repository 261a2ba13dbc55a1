package index

import (
	"bytes"
	"testing"
)

// FuzzDecodeTypedKeys checks the typed key decoders on arbitrary bytes: they
// never panic, and whenever one accepts a key, re-encoding the decoded
// fields gives back exactly that key (no two keys decode alike).
func FuzzDecodeTypedKeys(f *testing.F) {
	f.Add(CatalogKey(nil, CatalogName{Kind: 1, Account: "000000000000", Region: "us-east-1", Name: "orders"}))
	f.Add(SeqKey(nil, 42, SpaceUserMin, 7))
	f.Add(TimeSeqKey(nil, 42, SpaceUserMin+1, -3, 9))
	f.Add([]byte{keyspaceCatalog, 1, 0, 0})
	f.Fuzz(func(t *testing.T, key []byte) {
		if n, err := DecodeCatalogKey(key); err == nil {
			if again := CatalogKey(nil, n); !bytes.Equal(again, key) {
				t.Fatalf("catalog key %x decodes to %+v which encodes to %x", key, n, again)
			}
		}
		if k, err := DecodeSeqKey(key); err == nil {
			if again := SeqKey(nil, k.Entity, k.Space, k.Seq); !bytes.Equal(again, key) {
				t.Fatalf("seq key %x decodes to %+v which encodes to %x", key, k, again)
			}
		}
		if k, err := DecodeTimeSeqKey(key); err == nil {
			if again := TimeSeqKey(nil, k.Entity, k.Space, k.Time, k.Seq); !bytes.Equal(again, key) {
				t.Fatalf("time key %x decodes to %+v which encodes to %x", key, k, again)
			}
		}
	})
}
