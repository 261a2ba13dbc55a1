package kinesis

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
)

// TargetPrefix is the X-Amz-Target prefix of the Kinesis API.
const TargetPrefix = "Kinesis_20131202"

// Config configures the Kinesis service. The zero value is usable.
type Config struct {
	// Logger receives internal errors. Default: slog.Default().
	Logger *slog.Logger
	// ShardLimit is the account shard quota (open shards of PROVISIONED
	// streams) DescribeLimits reports and, with EnforceShardLimit, enforces
	// (quota.go). Default: 20,000 (AWS's default in us-east-1).
	ShardLimit int
	// EnforceShardLimit makes CreateStream, SplitShard, UpdateShardCount
	// and UpdateStreamMode fail with LimitExceededException when they
	// would take the account's provisioned open shards over ShardLimit or
	// its ON_DEMAND streams over 50, as AWS does. Default: off.
	EnforceShardLimit bool
	// SubscriptionLifetime is how long one SubscribeToShard call streams
	// before the server ends it. Default: 5 min (AWS).
	SubscriptionLifetime time.Duration
	// SubscriptionHeartbeat is the longest gap between two
	// SubscribeToShard events. Default: 5 s (AWS).
	SubscriptionHeartbeat time.Duration
	// TransitionDelay, when positive, is how long a stream reads CREATING
	// after CreateStream, UPDATING after a reshard, mode or encryption
	// change, and DELETING after DeleteStream (New passes it to
	// engine.DB.SetStreamTransitionDelay). Default: 0, every transition
	// immediate (a delay set on the DB directly is then left as it is).
	TransitionDelay time.Duration
}

// Service serves the Kinesis API over one engine DB.
type Service struct {
	db        *engine.DB
	clock     engine.Clock
	log       *slog.Logger
	cfg       Config
	iterators iteratorCodec
	ops       map[string]operation
	// readSizeHints holds, per stream (entity id modulo its length), the
	// rendered bytes per record of the last GetRecords, so the next one
	// sizes its output buffer once instead of growing a 14 MB answer by
	// doubling (a third of GetRecords' CPU). Collisions only make a hint
	// less accurate.
	readSizeHints [readSizeHintSlots]atomic.Int64
	// subs holds SubscribeToShard's per consumer and shard admission state
	// and running subscriptions (subscribe_rules.go).
	subs subscriptions
	// quotaMu makes an account quota's check and the change it allows
	// one step (quota.go: reserve, reserveFor).
	quotaMu sync.Mutex
}

// operation is one API operation over a decoded call.
type operation func(s *Service, c *call) error

// call is one request as the operations see it, decoupled from the
// server's Request so operations can be driven directly in tests.
type call struct {
	ctx  context.Context
	ns   engine.Namespace
	cbor bool
	body []byte
	out  encoder
	// stream, when an operation sets it, is run after the operation
	// returns to produce the response body incrementally (SubscribeToShard),
	// with contentType. The encoder output is ignored then.
	stream      server.StreamFunc
	contentType string
}

// decode decodes the request body into v in the call's encoding.
func (c *call) decode(v any) error {
	if c.cbor {
		return awsproto.DecodeCBOR(c.body, v)
	}
	return awsproto.DecodeJSON(c.body, v)
}

// New builds the service. It reads (creating on first use) the engine
// secret that signs shard iterators.
func New(db *engine.DB, cfg Config) (*Service, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ShardLimit <= 0 {
		cfg.ShardLimit = shardLimitDefault
	}
	if cfg.SubscriptionLifetime <= 0 {
		cfg.SubscriptionLifetime = subscriptionLifetime
	}
	if cfg.SubscriptionHeartbeat <= 0 {
		cfg.SubscriptionHeartbeat = subscriptionHeartbeat
	}
	if cfg.TransitionDelay > 0 {
		db.SetStreamTransitionDelay(cfg.TransitionDelay)
	}
	key, err := db.Secret(iteratorSecretName)
	if err != nil {
		return nil, fmt.Errorf("kinesis: reading iterator key: %w", err)
	}
	s := &Service{
		db:        db,
		clock:     db.Clock(),
		log:       cfg.Logger,
		cfg:       cfg,
		iterators: iteratorCodec{key: key},
	}
	s.ops = operations()
	return s, nil
}

// operations is the operation table.
func operations() map[string]operation {
	return map[string]operation{
		"AddTagsToStream":               (*Service).addTagsToStream,
		"CreateStream":                  (*Service).createStream,
		"DecreaseStreamRetentionPeriod": (*Service).decreaseStreamRetentionPeriod,
		"DeleteResourcePolicy":          (*Service).deleteResourcePolicy,
		"DeleteStream":                  (*Service).deleteStream,
		"DeregisterStreamConsumer":      (*Service).deregisterStreamConsumer,
		"DescribeAccountSettings":       (*Service).describeAccountSettings,
		"DescribeLimits":                (*Service).describeLimits,
		"DescribeStream":                (*Service).describeStream,
		"DescribeStreamConsumer":        (*Service).describeStreamConsumer,
		"DescribeStreamSummary":         (*Service).describeStreamSummary,
		"DisableEnhancedMonitoring":     (*Service).disableEnhancedMonitoring,
		"EnableEnhancedMonitoring":      (*Service).enableEnhancedMonitoring,
		"GetRecords":                    (*Service).getRecords,
		"GetResourcePolicy":             (*Service).getResourcePolicy,
		"GetShardIterator":              (*Service).getShardIterator,
		"IncreaseStreamRetentionPeriod": (*Service).increaseStreamRetentionPeriod,
		"ListShards":                    (*Service).listShards,
		"ListStreamConsumers":           (*Service).listStreamConsumers,
		"ListStreams":                   (*Service).listStreams,
		"ListTagsForResource":           (*Service).listTagsForResource,
		"ListTagsForStream":             (*Service).listTagsForStream,
		"MergeShards":                   (*Service).mergeShards,
		"PutRecord":                     (*Service).putRecord,
		"PutRecords":                    (*Service).putRecords,
		"PutResourcePolicy":             (*Service).putResourcePolicy,
		"RegisterStreamConsumer":        (*Service).registerStreamConsumer,
		"RemoveTagsFromStream":          (*Service).removeTagsFromStream,
		"SplitShard":                    (*Service).splitShard,
		"StartStreamEncryption":         (*Service).startStreamEncryption,
		"StopStreamEncryption":          (*Service).stopStreamEncryption,
		"SubscribeToShard":              (*Service).subscribeToShard,
		"TagResource":                   (*Service).tagResource,
		"UntagResource":                 (*Service).untagResource,
		"UpdateAccountSettings":         (*Service).updateAccountSettings,
		"UpdateMaxRecordSize":           (*Service).updateMaxRecordSize,
		"UpdateShardCount":              (*Service).updateShardCount,
		"UpdateStreamMode":              (*Service).updateStreamMode,
		"UpdateStreamWarmThroughput":    (*Service).updateStreamWarmThroughput,
	}
}

// Operations lists the operation names the service serves.
func (s *Service) Operations() []string {
	names := make([]string, 0, len(s.ops))
	for name := range s.ops {
		names = append(names, name)
	}
	return names
}

// ServerService describes the service to the server router, which serves
// every operation; SubscribeToShard answers with a streamed body
// (server.Response.StreamBody).
func (s *Service) ServerService() *server.Service {
	table := make(map[string]server.HandlerFunc, len(s.ops))
	for name, op := range s.ops {
		table[name] = s.routerHandler(op)
	}
	return &server.Service{
		Name:         "kinesis",
		TargetPrefix: TargetPrefix,
		JSONVersion:  "1.1",
		CBOR:         true,
		JSON:         table,
	}
}

func (s *Service) routerHandler(op operation) server.HandlerFunc {
	return func(req *server.Request, resp *server.Response) error {
		c := call{
			ctx:  req.Context,
			ns:   engine.Namespace{Account: req.Account, Region: req.Region},
			cbor: req.Protocol == awsproto.ProtocolCBOR,
			body: req.Body,
			out:  encoder{b: resp.B[:0], resp: resp},
		}
		c.out.cbor = c.cbor
		if err := op(s, &c); err != nil {
			return mapError(err)
		}
		if c.stream != nil {
			resp.StreamBody(c.contentType, c.stream)
			return nil
		}
		resp.B = c.out.b
		return nil
	}
}

// now returns the engine clock's time.
func (s *Service) now() time.Time { return s.clock.Now() }
