package engine

import (
	"crypto/rand"
	"fmt"

	"github.com/sluice-dev/sluice/index"
)

// Secrets and resource policies are small global values in the index.
//
// Secrets live in the meta keyspace, which Reset keeps: tokens signed
// before a Reset (shard iterators) fail on the data, not on the signature.
// Resource policies live under the reserved entity 0 (entity ids start at
// 1), so Reset deletes them with every other entity key.

const (
	secretSizeBytes      = 32
	secretNameMaxBytes   = 128
	policyKeyMaxBytes    = 2048
	policyMaxBytes       = 20 << 10 // AWS: a resource policy is at most 20 KiB
	policyEntityID       = 0
	policyMetaNamePrefix = "resource-policy/"
	secretMetaNamePrefix = "secret/"
)

// Secret returns the persistent 32-byte random key called name, creating it
// on first use (for example the key that signs shard iterators).
func (db *DB) Secret(name string) ([]byte, error) {
	if name == "" || len(name) > secretNameMaxBytes {
		return nil, invalidf("SecretName", "length %d outside [1, %d]", len(name), secretNameMaxBytes)
	}
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.exit()
	reg := db.streamRegistry()
	reg.secretMu.Lock()
	defer reg.secretMu.Unlock()
	key := index.MetaKey(nil, secretMetaNamePrefix+name)
	v, ok, err := db.index.Get(key)
	if err != nil {
		return nil, fmt.Errorf("engine: read secret %q: %w", name, err)
	}
	if ok {
		if len(v) != secretSizeBytes {
			return nil, fmt.Errorf("engine: secret %q of %d bytes is corrupt", name, len(v))
		}
		return v, nil
	}
	secret := make([]byte, secretSizeBytes)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("engine: generate secret %q: %w", name, err)
	}
	if err := db.index.Set(key, secret, true /* sync */); err != nil {
		return nil, fmt.Errorf("engine: store secret %q: %w", name, err)
	}
	return secret, nil
}

func policyKey(key string) ([]byte, error) {
	if key == "" || len(key) > policyKeyMaxBytes {
		return nil, invalidf("ResourceARN", "length %d outside [1, %d]", len(key), policyKeyMaxBytes)
	}
	return index.EntityMetaKey(nil, policyEntityID, policyMetaNamePrefix+key), nil
}

// SetResourcePolicy stores policy (a JSON document, not interpreted) for
// the resource named key (the server passes the ARN).
func (db *DB) SetResourcePolicy(key string, policy string) error {
	k, err := policyKey(key)
	if err != nil {
		return err
	}
	if policy == "" || len(policy) > policyMaxBytes {
		return invalidf("Policy", "length %d outside [1, %d]", len(policy), policyMaxBytes)
	}
	if err := db.enter(); err != nil {
		return err
	}
	defer db.exit()
	if err := db.index.Set(k, []byte(policy), true /* sync */); err != nil {
		return fmt.Errorf("engine: store resource policy: %w", err)
	}
	return nil
}

// ResourcePolicy returns the policy stored for key, if any.
func (db *DB) ResourcePolicy(key string) (string, bool, error) {
	k, err := policyKey(key)
	if err != nil {
		return "", false, err
	}
	if err := db.enter(); err != nil {
		return "", false, err
	}
	defer db.exit()
	v, ok, err := db.index.Get(k)
	if err != nil {
		return "", false, fmt.Errorf("engine: read resource policy: %w", err)
	}
	return string(v), ok, nil
}

// DeleteResourcePolicy removes the policy stored for key; deleting an
// absent policy is not an error.
func (db *DB) DeleteResourcePolicy(key string) error {
	k, err := policyKey(key)
	if err != nil {
		return err
	}
	if err := db.enter(); err != nil {
		return err
	}
	defer db.exit()
	b := db.index.NewBatch()
	defer b.Close()
	b.Delete(k)
	if err := b.Commit(true /* sync */); err != nil {
		return fmt.Errorf("engine: delete resource policy: %w", err)
	}
	return nil
}
