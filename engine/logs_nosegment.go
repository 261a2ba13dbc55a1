package engine

// TODO(engine): temporary until segment lands; then logs_open.go (now
// build-ignored) replaces this file. Without segment there is no openLog, so
// no log can be open and there is nothing to close.

type logRegistry struct{}

func (r *logRegistry) init() {}

func (db *DB) closeLogs(entityID uint64) error { return nil }

func (db *DB) closeAllLogs() error { return nil }
