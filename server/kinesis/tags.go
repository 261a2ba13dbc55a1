package kinesis

import (
	"slices"
	"strings"

	"github.com/sluice-dev/sluice/engine"
)

// Tags and resource policies: AddTagsToStream, RemoveTagsFromStream,
// ListTagsForStream, TagResource, UntagResource, ListTagsForResource,
// PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy. Known
// differences from AWS: tags on consumer ARNs are not stored (the calls
// succeed with no tags); policies are stored, never evaluated.

func (s *Service) addTagsToStream(c *call) error {
	var in addTagsInput
	if err := c.decode(&in); err != nil {
		return err
	}
	var v validator
	v.required("tags", in.Tags != nil)
	validateTags(&v, "tags", in.Tags)
	st, t, err := s.openStream(c, in.streamRef, &v)
	if err != nil {
		return err
	}
	return tagStream(st, t, in.Tags)
}

func tagStream(st *engine.Stream, t target, tags map[string]string) error {
	if err := checkTagCharacters(tags); err != nil {
		return err
	}
	merged := len(st.Info().Tags)
	for k := range tags {
		if _, ok := st.Info().Tags[k]; !ok {
			merged++
		}
	}
	if merged > tagsPerStreamMax {
		return errLimitExceeded.WithMessage("Failed to add tags to stream " + t.name + " under account " + t.ns.Account +
			" because a given stream cannot have more than 50 tags.")
	}
	if err := st.Tag(tags); err != nil {
		return streamError(err, t.ns, t.name)
	}
	return nil
}

func (s *Service) removeTagsFromStream(c *call) error {
	var in removeTagsInput
	if err := c.decode(&in); err != nil {
		return err
	}
	var v validator
	v.required("tagKeys", in.TagKeys != nil)
	validateTagKeys(&v, in.TagKeys)
	st, t, err := s.openStream(c, in.streamRef, &v)
	if err != nil {
		return err
	}
	if err := checkTagKeyCharacters(in.TagKeys); err != nil {
		return err
	}
	if err := st.Untag(in.TagKeys); err != nil {
		return streamError(err, t.ns, t.name)
	}
	return nil
}

// checkTagCharacters refuses a tag map with characters a tag cannot hold.
func checkTagCharacters(tags map[string]string) error {
	for k, val := range tags {
		if !validTagText(k) || !validTagText(val) {
			return errTagCharacters
		}
	}
	return nil
}

// checkTagKeyCharacters refuses tag keys with characters a tag cannot
// hold, after the stream is found, as AWS does.
func checkTagKeyCharacters(keys []string) error {
	for _, k := range keys {
		if !validTagText(k) {
			return errTagCharacters
		}
	}
	return nil
}

func (s *Service) listTagsForStream(c *call) error {
	var in listTagsForStreamInput
	if err := c.decode(&in); err != nil {
		return err
	}
	var v validator
	v.intRange("limit", in.Limit, 1, listTagsResultsMax)
	st, _, err := s.openStream(c, in.streamRef, &v)
	if err != nil {
		return err
	}
	tags := st.Info().Tags
	keys := sortedKeys(tags)
	if in.ExclusiveStartTagKey != "" {
		i, found := slices.BinarySearch(keys, in.ExclusiveStartTagKey)
		if found {
			i++
		}
		keys = keys[i:]
	}
	limit := listTagsResultsDefault
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	more := len(keys) > limit
	if more {
		keys = keys[:limit]
	}
	e := &c.out
	e.objStart()
	writeTagList(e, keys, tags)
	e.kbool("HasMoreTags", more)
	e.objEnd()
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func writeTagList(e *encoder, keys []string, tags map[string]string) {
	e.key("Tags")
	e.arrStart()
	for _, k := range keys {
		e.elem()
		e.objStart()
		e.kstr("Key", k)
		e.kstr("Value", tags[k])
		e.objEnd()
	}
	e.arrEnd()
}

// resourceStream opens the stream a ResourceARN names (a stream ARN, or a
// consumer ARN when consumer is non-nil, which then reports it).
func (s *Service) resourceStream(arn string) (*engine.Stream, target, bool, error) {
	var v validator
	v.required("resourceARN", arn != "")
	if err := v.err(); err != nil {
		return nil, target{}, false, err
	}
	p, ok := parseARN(arn, false)
	isConsumer := false
	if !ok {
		p, ok = parseARN(arn, true)
		isConsumer = ok
	}
	if !ok {
		v.fail(quote(arn), "resourceARN", "Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{12}:.*stream/\\S+")
		return nil, target{}, false, v.err()
	}
	t := target{ns: engine.Namespace{Account: p.account, Region: p.region}, name: p.stream}
	st, err := s.db.Stream(t.ns, t.name)
	if err != nil {
		return nil, t, false, streamError(err, t.ns, t.name)
	}
	if isConsumer && !hasConsumer(st, p.consumer) {
		return nil, t, false, errResourceNotFound.WithMessage("Consumer " + p.consumer + " under stream " + t.name + " not found.")
	}
	return st, t, isConsumer, nil
}

func hasConsumer(st *engine.Stream, name string) bool {
	for _, c := range st.Consumers() {
		if c.Name == name {
			return true
		}
	}
	return false
}

func (s *Service) tagResource(c *call) error {
	var in resourceInput
	if err := c.decode(&in); err != nil {
		return err
	}
	var v validator
	v.required("tags", in.Tags != nil)
	validateTags(&v, "tags", in.Tags)
	if err := v.err(); err != nil {
		return err
	}
	st, t, isConsumer, err := s.resourceStream(in.ResourceARN)
	if err != nil || isConsumer {
		return err
	}
	return tagStream(st, t, in.Tags)
}

func (s *Service) untagResource(c *call) error {
	var in resourceInput
	if err := c.decode(&in); err != nil {
		return err
	}
	var v validator
	v.required("tagKeys", in.TagKeys != nil)
	validateTagKeys(&v, in.TagKeys)
	if err := v.err(); err != nil {
		return err
	}
	st, t, isConsumer, err := s.resourceStream(in.ResourceARN)
	if err != nil || isConsumer {
		return err
	}
	if err := checkTagKeyCharacters(in.TagKeys); err != nil {
		return err
	}
	if err := st.Untag(in.TagKeys); err != nil {
		return streamError(err, t.ns, t.name)
	}
	return nil
}

func (s *Service) listTagsForResource(c *call) error {
	var in resourceInput
	if err := c.decode(&in); err != nil {
		return err
	}
	st, _, isConsumer, err := s.resourceStream(in.ResourceARN)
	if err != nil {
		return err
	}
	var tags map[string]string
	if !isConsumer {
		tags = st.Info().Tags
	}
	e := &c.out
	e.objStart()
	writeTagList(e, sortedKeys(tags), tags)
	e.objEnd()
	return nil
}

// policyKey is the engine key of a resource's policy: its ARN.
func policyKey(arn string) string { return strings.TrimSpace(arn) }

func (s *Service) putResourcePolicy(c *call) error {
	var in resourceInput
	if err := c.decode(&in); err != nil {
		return err
	}
	var v validator
	v.required("policy", in.Policy != nil)
	if err := v.err(); err != nil {
		return err
	}
	if _, _, _, err := s.resourceStream(in.ResourceARN); err != nil {
		return err
	}
	if err := s.db.SetResourcePolicy(policyKey(in.ResourceARN), *in.Policy); err != nil {
		return mapError(err)
	}
	return nil
}

func (s *Service) getResourcePolicy(c *call) error {
	var in resourceInput
	if err := c.decode(&in); err != nil {
		return err
	}
	if _, _, _, err := s.resourceStream(in.ResourceARN); err != nil {
		return err
	}
	policy, ok, err := s.db.ResourcePolicy(policyKey(in.ResourceARN))
	if err != nil {
		return mapError(err)
	}
	if !ok {
		policy = "{}"
	}
	e := &c.out
	e.objStart()
	e.kstr("Policy", policy)
	e.objEnd()
	return nil
}

func (s *Service) deleteResourcePolicy(c *call) error {
	var in resourceInput
	if err := c.decode(&in); err != nil {
		return err
	}
	if _, _, _, err := s.resourceStream(in.ResourceARN); err != nil {
		return err
	}
	if err := s.db.DeleteResourcePolicy(policyKey(in.ResourceARN)); err != nil {
		return mapError(err)
	}
	return nil
}
