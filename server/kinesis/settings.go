package kinesis

import (
	"slices"
	"strconv"
	"time"

	"github.com/sluice-dev/sluice/engine"
)

// Stream settings: retention, capacity mode, record size, warm throughput,
// encryption and enhanced monitoring. Known differences from AWS:
// encryption and enhanced metrics are stored and reported but change
// nothing (records are not KMS-encrypted, no CloudWatch metrics);
// WarmThroughputMiBps is accepted and reported as the current throughput.

func (s *Service) increaseStreamRetentionPeriod(c *call) error {
	return s.changeRetention(c, true)
}

func (s *Service) decreaseStreamRetentionPeriod(c *call) error {
	return s.changeRetention(c, false)
}

func (s *Service) changeRetention(c *call, increase bool) error {
	var in retentionInput
	if err := c.decode(&in); err != nil {
		return err
	}
	var v validator
	v.required("retentionPeriodHours", in.RetentionPeriodHours != nil)
	st, t, err := s.openStream(c, in.streamRef, &v)
	if err != nil {
		return err
	}
	hours := *in.RetentionPeriodHours
	if hours < 24 || hours > 8760 {
		return invalidArgument("Minimum allowed retention period is 24 hours. Maximum allowed retention period is 8760 hours. Requested retention period (" +
			strconv.FormatInt(hours, 10) + " hours) is out of range.")
	}
	current := int64(st.Info().Retention / time.Hour)
	switch {
	case increase && hours < current:
		return invalidArgument("Requested retention period (" + strconv.FormatInt(hours, 10) +
			" hours) for stream " + t.name + " can not be shorter than existing retention period (" +
			strconv.FormatInt(current, 10) + " hours). Use DecreaseRetentionPeriod API.")
	case !increase && hours > current:
		return invalidArgument("Requested retention period (" + strconv.FormatInt(hours, 10) +
			" hours) for stream " + t.name + " can not be longer than existing retention period (" +
			strconv.FormatInt(current, 10) + " hours). Use IncreaseRetentionPeriod API.")
	}
	if err := st.SetRetention(time.Duration(hours) * time.Hour); err != nil {
		return streamError(err, t.ns, t.name)
	}
	return nil
}

func (s *Service) updateStreamMode(c *call) error {
	var in updateStreamModeInput
	if err := c.decode(&in); err != nil {
		return err
	}
	var v validator
	v.required("streamARN", in.StreamARN.set)
	v.required("streamModeDetails", in.StreamModeDetails != nil)
	if in.StreamModeDetails != nil {
		v.required("streamModeDetails.streamMode", in.StreamModeDetails.StreamMode != "")
		v.enum("streamModeDetails.streamMode", in.StreamModeDetails.StreamMode, "PROVISIONED", "ON_DEMAND")
	}
	v.intRange("warmThroughputMiBps", in.WarmThroughputMiBps, 0, 1<<31-1)
	st, t, err := s.openStream(c, in.streamRef, &v)
	if err != nil {
		return err
	}
	// A switch counts against the quota of the mode it enters: one more
	// ON_DEMAND stream, or the stream's open shards as provisioned ones.
	// The mode is read under the quota lock (reserveFor).
	mode := engine.StreamMode(in.StreamModeDetails.StreamMode)
	release, err := s.reserveFor(t.ns, func() (shardsAdded, streamsAdded int) {
		if info := st.Info(); info.Mode != mode {
			return quotaAddition(mode, info.OpenShards)
		}
		return 0, 0
	})
	if err != nil {
		return err
	}
	defer release()
	if err := st.SetMode(mode); err != nil {
		return streamError(err, t.ns, t.name)
	}
	return nil
}

func (s *Service) updateMaxRecordSize(c *call) error {
	var in updateMaxRecordSizeInput
	if err := c.decode(&in); err != nil {
		return err
	}
	var v validator
	v.required("maxRecordSizeInKiB", in.MaxRecordSizeInKiB != nil)
	v.intRange("maxRecordSizeInKiB", in.MaxRecordSizeInKiB, 1024, 10240)
	st, t, err := s.openStream(c, in.streamRef, &v)
	if err != nil {
		return err
	}
	if err := st.SetMaxRecordSize(int(*in.MaxRecordSizeInKiB)); err != nil {
		return streamError(err, t.ns, t.name)
	}
	return nil
}

func (s *Service) updateStreamWarmThroughput(c *call) error {
	var in updateWarmThroughputInput
	if err := c.decode(&in); err != nil {
		return err
	}
	var v validator
	v.required("warmThroughputMiBps", in.WarmThroughputMiBps != nil)
	v.intRange("warmThroughputMiBps", in.WarmThroughputMiBps, 0, 1<<31-1)
	st, t, err := s.openStream(c, in.streamRef, &v)
	if err != nil {
		return err
	}
	if st.Info().Mode != engine.StreamModeOnDemand {
		return invalidArgument("Warm throughput can only be set on streams in ON_DEMAND mode.")
	}
	e := &c.out
	e.objStart()
	e.kstr("StreamARN", t.arn())
	e.kstr("StreamName", t.name)
	e.key("WarmThroughput")
	e.objStart()
	e.kint("TargetMiBps", *in.WarmThroughputMiBps)
	e.kint("CurrentMiBps", *in.WarmThroughputMiBps)
	e.objEnd()
	e.objEnd()
	return nil
}

func (s *Service) startStreamEncryption(c *call) error { return s.setEncryption(c, true) }

func (s *Service) stopStreamEncryption(c *call) error { return s.setEncryption(c, false) }

func (s *Service) setEncryption(c *call, start bool) error {
	var in encryptionInput
	if err := c.decode(&in); err != nil {
		return err
	}
	var v validator
	v.required("encryptionType", in.EncryptionType != "")
	v.enum("encryptionType", in.EncryptionType, "NONE", "KMS")
	v.required("keyId", in.KeyID != "")
	if in.KeyID != "" {
		v.length("keyId", in.KeyID, 1, 2048)
	}
	st, t, err := s.openStream(c, in.streamRef, &v)
	if err != nil {
		return err
	}
	if in.EncryptionType != "KMS" {
		return invalidArgument("Encryption type must be KMS.")
	}
	typ, key := "KMS", in.KeyID
	if !start {
		typ, key = "NONE", ""
	}
	if err := st.SetEncryption(typ, key); err != nil {
		return streamError(err, t.ns, t.name)
	}
	return nil
}

// shardLevelMetrics are the metric names; "ALL" stands for all of them.
var shardLevelMetrics = []string{"IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
	"WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded", "IteratorAgeMilliseconds"}

func (s *Service) enableEnhancedMonitoring(c *call) error { return s.changeMonitoring(c, true) }

func (s *Service) disableEnhancedMonitoring(c *call) error { return s.changeMonitoring(c, false) }

func (s *Service) changeMonitoring(c *call, enable bool) error {
	var in monitoringInput
	if err := c.decode(&in); err != nil {
		return err
	}
	var v validator
	v.required("shardLevelMetrics", in.ShardLevelMetrics != nil)
	if in.ShardLevelMetrics != nil && (len(in.ShardLevelMetrics) < 1 || len(in.ShardLevelMetrics) > 7) {
		v.fail("'[…]'", "shardLevelMetrics", "Member must have length between 1 and 7")
	}
	for i, m := range in.ShardLevelMetrics {
		v.enum("shardLevelMetrics."+strconv.Itoa(i+1)+".member", m, append(slices.Clone(shardLevelMetrics), "ALL")...)
	}
	st, t, err := s.openStream(c, in.streamRef, &v)
	if err != nil {
		return err
	}
	current := st.Info().EnhancedMetrics
	requested := in.ShardLevelMetrics
	if slices.Contains(requested, "ALL") {
		requested = shardLevelMetrics
	}
	desired := slices.Clone(current)
	if enable {
		for _, m := range requested {
			if !slices.Contains(desired, m) {
				desired = append(desired, m)
			}
		}
	} else {
		desired = slices.DeleteFunc(desired, func(m string) bool { return slices.Contains(requested, m) })
	}
	slices.Sort(desired)
	if err := st.SetEnhancedMetrics(desired); err != nil {
		return streamError(err, t.ns, t.name)
	}
	e := &c.out
	e.objStart()
	e.kstr("StreamName", t.name)
	e.kstrs("CurrentShardLevelMetrics", nonNil(current))
	e.kstrs("DesiredShardLevelMetrics", nonNil(desired))
	e.kstr("StreamARN", t.arn())
	e.objEnd()
	return nil
}
