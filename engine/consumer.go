package engine

import (
	"fmt"
	"slices"
	"time"
)

// Consumers (enhanced fan-out) are stored metadata of their stream. The
// engine applies registration at once: RegisterConsumer's result says
// CREATING, as AWS's does, and the consumer reads ACTIVE from then on.

// RegisterConsumer registers a consumer named name (1–128 characters of
// [a-zA-Z0-9_.-]). ErrConsumerExists if the name is taken, ErrLimitExceeded
// past 20 consumers per stream.
func (s *Stream) RegisterConsumer(name string) (StreamConsumer, error) {
	if err := validateStreamName("ConsumerName", name); err != nil {
		return StreamConsumer{}, err
	}
	var c StreamConsumer
	err := s.update(func(m *streamMeta, now time.Time) error {
		if slices.ContainsFunc(m.Consumers, func(c StreamConsumer) bool { return c.Name == name }) {
			return fmt.Errorf("%w: %q on stream %q", ErrConsumerExists, name, m.Name)
		}
		if len(m.Consumers) >= streamConsumersMax {
			return fmt.Errorf("%w: stream %q already has %d consumers", ErrLimitExceeded, m.Name, streamConsumersMax)
		}
		c = StreamConsumer{Name: name, Created: now, Status: ConsumerActive}
		m.Consumers = append(m.Consumers, c)
		return nil
	})
	if err != nil {
		return StreamConsumer{}, err
	}
	c.Status = ConsumerCreating
	return c, nil
}

// DeregisterConsumer removes consumer name; ErrConsumerNotFound if absent.
func (s *Stream) DeregisterConsumer(name string) error {
	return s.update(func(m *streamMeta, _ time.Time) error {
		i := slices.IndexFunc(m.Consumers, func(c StreamConsumer) bool { return c.Name == name })
		if i < 0 {
			return fmt.Errorf("%w: %q on stream %q", ErrConsumerNotFound, name, m.Name)
		}
		m.Consumers = slices.Delete(m.Consumers, i, i+1)
		if len(m.Consumers) == 0 {
			m.Consumers = nil
		}
		return nil
	})
}

// Consumers lists the registered consumers in registration order.
func (s *Stream) Consumers() []StreamConsumer {
	return slices.Clone(s.snap.Load().meta.Consumers)
}

// Consumer returns the consumer named name, or ErrConsumerNotFound.
func (s *Stream) Consumer(name string) (StreamConsumer, error) {
	for _, c := range s.snap.Load().meta.Consumers {
		if c.Name == name {
			return c, nil
		}
	}
	return StreamConsumer{}, fmt.Errorf("%w: %q on stream %q", ErrConsumerNotFound, name, s.name)
}
