package awsproto

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *Error with code %s", err, err, code)
	}
	if e.Code != code {
		t.Fatalf("code = %s (%s), want %s", e.Code, e.Message, code)
	}
}

// TestParseForm checks the strict form decoder on well-formed and malformed
// bodies: unescaping, duplicate handling, and every rejection it promises.
func TestParseForm(t *testing.T) {
	tests := []struct {
		name   string
		parts  []string
		limits FormLimits
		want   map[string]string
		code   string // expected error code, "" for success
	}{
		{name: "simple", parts: []string{"Action=ListQueues&Version=2012-11-05"},
			want: map[string]string{"Action": "ListQueues", "Version": "2012-11-05"}},
		{name: "escapes and plus", parts: []string{"Message=a+b%20c%2B%26%3D%0D%0A&K%2Ey=%E2%98%83"},
			want: map[string]string{"Message": "a b c+&=\r\n", "K.y": "☃"}},
		{name: "query and body merge", parts: []string{"Action=X", "Version=1&QueueName=q"},
			want: map[string]string{"Action": "X", "Version": "1", "QueueName": "q"}},
		{name: "empty pairs and value-less keys", parts: []string{"&a=&&b&"},
			want: map[string]string{"a": "", "b": ""}},
		{name: "value with equals", parts: []string{"Policy=a=b=c"}, want: map[string]string{"Policy": "a=b=c"}},
		{name: "same duplicate accepted", parts: []string{"Action=X", "Action=X"}, want: map[string]string{"Action": "X"}},
		{name: "empty body", parts: []string{""}, want: map[string]string{}},
		{name: "conflicting duplicate", parts: []string{"Action=X&Action=Y"}, code: "MalformedQueryString"},
		{name: "truncated escape", parts: []string{"a=%4"}, code: "MalformedQueryString"},
		{name: "non-hex escape", parts: []string{"a=%zz"}, code: "MalformedQueryString"},
		{name: "escape in key", parts: []string{"%g1=x"}, code: "MalformedQueryString"},
		{name: "empty key", parts: []string{"=x"}, code: "MalformedQueryString"},
		{name: "too many params", parts: []string{"a=1&b=2&c=3"}, limits: FormLimits{ParamsMax: 2}, code: "MalformedQueryString"},
		{name: "key too long", parts: []string{strings.Repeat("k", 9) + "=1"}, limits: FormLimits{KeyBytesMax: 8}, code: "MalformedQueryString"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := make([][]byte, len(tt.parts))
			for i, p := range tt.parts {
				parts[i] = []byte(p)
			}
			f, err := ParseForm(tt.limits, parts...)
			if tt.code != "" {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, k := range f.Keys() {
				got[k] = f.Value(k)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			if f.Len() != len(tt.want) {
				t.Fatalf("Len = %d, want %d", f.Len(), len(tt.want))
			}
		})
	}
}

// TestFormMembers checks the flattened-member helpers on the request shapes
// SQS (legacy query) and SNS clients send, including index ordering past 9,
// nesting, and malformed indexes.
func TestFormMembers(t *testing.T) {
	body := "Action=SendMessageBatch" +
		"&SendMessageBatchRequestEntry.2.Id=b&SendMessageBatchRequestEntry.2.MessageBody=two" +
		"&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=one" +
		"&SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=k" +
		"&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=String" +
		"&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=v" +
		"&Attribute.10.Name=Ten&Attribute.10.Value=10&Attribute.2.Name=Two&Attribute.2.Value=2" +
		"&AttributeName.1=All&AttributeName.3=Policy" +
		"&Tags.member.1.Key=env&Tags.member.1.Value=dev" +
		"&Attributes.entry.1.key=DisplayName&Attributes.entry.1.value=x"
	f, err := ParseForm(FormLimits{}, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := f.Members("SendMessageBatchRequestEntry")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Index != 1 || entries[1].Index != 2 {
		t.Fatalf("entries = %+v", entries)
	}
	if entries[0].Fields.Value("Id") != "a" || entries[1].Fields.Value("MessageBody") != "two" {
		t.Fatalf("entry fields wrong: %q %q", entries[0].Fields.Keys(), entries[1].Fields.Keys())
	}
	attrs, err := entries[0].Fields.Members("MessageAttribute")
	if err != nil || len(attrs) != 1 {
		t.Fatalf("message attributes = %+v, %v", attrs, err)
	}
	if attrs[0].Fields.Value("Name") != "k" || attrs[0].Fields.Value("Value.StringValue") != "v" || attrs[0].Fields.Value("Value.DataType") != "String" {
		t.Fatalf("message attribute fields = %q", attrs[0].Fields.Keys())
	}

	attributeMembers, err := f.Members("Attribute")
	if err != nil {
		t.Fatal(err)
	}
	if got := []int{attributeMembers[0].Index, attributeMembers[1].Index}; !slices.Equal(got, []int{2, 10}) {
		t.Fatalf("indexes = %v, want numeric order [2 10]", got)
	}
	m, err := f.Map("Attribute", "Name", "Value")
	if err != nil || !reflect.DeepEqual(m, map[string]string{"Two": "2", "Ten": "10"}) {
		t.Fatalf("Map = %v, %v", m, err)
	}
	names, err := f.List("AttributeName")
	if err != nil || !slices.Equal(names, []string{"All", "Policy"}) {
		t.Fatalf("List = %v, %v", names, err)
	}
	tags, err := f.Map("Tags.member", "Key", "Value")
	if err != nil || !reflect.DeepEqual(tags, map[string]string{"env": "dev"}) {
		t.Fatalf("tags = %v, %v", tags, err)
	}
	snsAttrs, err := f.Map("Attributes.entry", "key", "value")
	if err != nil || !reflect.DeepEqual(snsAttrs, map[string]string{"DisplayName": "x"}) {
		t.Fatalf("SNS attributes = %v, %v", snsAttrs, err)
	}
	if none, err := f.Members("Missing"); err != nil || len(none) != 0 {
		t.Fatalf("Members(Missing) = %v, %v", none, err)
	}
	if m, err := f.Map("Missing", "Name", "Value"); err != nil || m != nil {
		t.Fatalf("Map(Missing) = %v, %v", m, err)
	}
}

// TestFormMembersErrors checks that malformed indexes and incomplete map
// entries are rejected with the documented codes.
func TestFormMembersErrors(t *testing.T) {
	tests := []struct {
		body, code string
		call       func(*Form) error
	}{
		{"Attribute.0.Name=x", "MalformedQueryString", func(f *Form) error { _, err := f.Members("Attribute"); return err }},
		{"Attribute.01.Name=x", "MalformedQueryString", func(f *Form) error { _, err := f.Members("Attribute"); return err }},
		{"Attribute.x.Name=x", "MalformedQueryString", func(f *Form) error { _, err := f.Members("Attribute"); return err }},
		{"Attribute.1.=x", "MalformedQueryString", func(f *Form) error { _, err := f.Members("Attribute"); return err }},
		{"Attribute.10001.Name=x", "MalformedQueryString", func(f *Form) error { _, err := f.Members("Attribute"); return err }},
		{"Attribute.9999999999.Name=x", "MalformedQueryString", func(f *Form) error { _, err := f.Members("Attribute"); return err }},
		{"AttributeName.1.X=All", "MalformedQueryString", func(f *Form) error { _, err := f.List("AttributeName"); return err }},
		{"Attribute.1.Value=x", "MissingParameter", func(f *Form) error { _, err := f.Map("Attribute", "Name", "Value"); return err }},
		{"Attribute.1.Name=a&Attribute.2.Name=a", "InvalidParameterValue", func(f *Form) error { _, err := f.Map("Attribute", "Name", "Value"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			f, err := ParseForm(FormLimits{}, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			wantCode(t, tt.call(f), tt.code)
		})
	}
}

// FuzzParseForm checks that the decoder never panics, that an accepted form
// has sorted unique keys readable through Get, that walking any member list
// is safe, and that re-encoding an accepted form and parsing it again gives
// the same parameters.
func FuzzParseForm(f *testing.F) {
	f.Add([]byte("Action=ListQueues&Version=2012-11-05"))
	f.Add([]byte("E.1.Id=a&E.1.MessageBody=b&E.2.Id=c&E.10.Id=y&E.10.MessageAttribute.1.Name=n&E.10.MessageAttribute.1.Value.StringValue=v&E.3=z&E-x=1&E.=2"))
	f.Add([]byte("AttributeName.1=All&AttributeName.2=Policy&Tag.1.Key=k&Tag.1.Value=v&Tag.01.Key=bad"))
	f.Fuzz(func(t *testing.T, body []byte) {
		form, err := ParseForm(FormLimits{}, body)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != "MalformedQueryString" {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		keys := form.Keys()
		if !slices.IsSorted(keys) || len(slices.Compact(slices.Clone(keys))) != len(keys) {
			t.Fatalf("keys not sorted and unique: %q", keys)
		}
		values := url.Values{}
		for _, k := range keys {
			v, ok := form.Get(k)
			if !ok {
				t.Fatalf("Get(%q) missing", k)
			}
			values.Set(k, v)
			prefix, _, _ := strings.Cut(k, ".")
			members, err := form.Members(prefix)
			if err == nil {
				for _, m := range members {
					if m.Index < 1 || m.Fields == nil {
						t.Fatalf("bad member %+v", m)
					}
				}
			}
			checkMembers(t, form, prefix, members, err)
			if i := strings.LastIndexByte(k, '.'); i > 0 {
				members, err := form.Members(k[:i]) // a dotted prefix
				checkMembers(t, form, k[:i], members, err)
			}
		}
		checkBorrowing(t, body, form)
		again, err := ParseForm(FormLimits{}, []byte(values.Encode()))
		if err != nil {
			t.Fatalf("re-encoded form does not parse: %v", err)
		}
		if !slices.Equal(again.Keys(), keys) {
			t.Fatalf("round trip keys %q != %q", again.Keys(), keys)
		}
		for _, k := range keys {
			if again.Value(k) != form.Value(k) {
				t.Fatalf("round trip %q: %q != %q", k, again.Value(k), form.Value(k))
			}
		}
	})
}

// membersReference is Members as first written (one Form and one slice per
// member), the definition the single-allocation version must match.
func membersReference(f *Form, prefix string) ([]Member, error) {
	dotted := prefix + "."
	var members []Member
	for _, p := range f.pairs {
		if !strings.HasPrefix(p.key, dotted) {
			continue
		}
		digits, field, hasField := strings.Cut(p.key[len(dotted):], ".")
		index, ok := parseIndex(digits, f.limits.IndexMax)
		if !ok || (hasField && field == "") {
			return nil, malformedQuery("invalid member index in " + p.key)
		}
		m := findMember(members, index)
		if m == nil {
			members = append(members, Member{Index: index, Fields: &Form{limits: f.limits}})
			m = &members[len(members)-1]
		}
		m.Fields.pairs = append(m.Fields.pairs, formPair{key: field, value: p.value})
	}
	slices.SortFunc(members, func(a, b Member) int { return a.Index - b.Index })
	for _, m := range members {
		slices.SortFunc(m.Fields.pairs, func(a, b formPair) int { return strings.Compare(a.key, b.key) })
	}
	return members, nil
}

// checkMembers compares Members(prefix) of f with membersReference, and
// checks that appending to one member's fields leaves the others alone.
func checkMembers(t *testing.T, f *Form, prefix string, got []Member, gotErr error) {
	t.Helper()
	want, wantErr := membersReference(f, prefix)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("Members(%q) error %v, reference %v", prefix, gotErr, wantErr)
	}
	if gotErr != nil {
		return
	}
	if len(got) != len(want) {
		t.Fatalf("Members(%q): %d members, reference %d", prefix, len(got), len(want))
	}
	for i := range got {
		if got[i].Index != want[i].Index || !slices.Equal(got[i].Fields.pairs, want[i].Fields.pairs) {
			t.Fatalf("Members(%q)[%d] = %d %v, reference %d %v", prefix, i, got[i].Index, got[i].Fields.pairs, want[i].Index, want[i].Fields.pairs)
		}
	}
	if len(got) > 1 {
		got[0].Fields.pairs = append(got[0].Fields.pairs, formPair{key: "~", value: "appended"})
		if !slices.Equal(got[1].Fields.pairs, want[1].Fields.pairs) {
			t.Fatalf("Members(%q): appending to member 0 changed member 1: %v", prefix, got[1].Fields.pairs)
		}
	}
}

// borrowOdd borrows the values of keys of odd length: an arbitrary half.
func borrowOdd(key string) bool { return len(key)%2 == 1 }

// checkBorrowing parses a copy of body with ParseBorrowing and checks it
// against want (Parse of the same body): the same parameters; then, after
// the copy is overwritten, every key and every value not borrowed still
// reads the same (they own their memory).
func checkBorrowing(t *testing.T, body []byte, want *Form) {
	t.Helper()
	buf := slices.Clone(body)
	var got Form
	if err := got.ParseBorrowing(FormLimits{}, borrowOdd, nil, buf); err != nil {
		t.Fatalf("ParseBorrowing refused what Parse accepted: %v", err)
	}
	if !slices.Equal(got.Keys(), want.Keys()) {
		t.Fatalf("ParseBorrowing keys %q, Parse %q", got.Keys(), want.Keys())
	}
	for _, k := range want.Keys() {
		if got.Value(k) != want.Value(k) {
			t.Fatalf("ParseBorrowing %q = %q, Parse %q", k, got.Value(k), want.Value(k))
		}
	}
	for i := range buf {
		buf[i] = '#'
	}
	for i, k := range got.Keys() {
		if k != want.Keys()[i] {
			t.Fatalf("key %q changed to %q with the input", want.Keys()[i], k)
		}
		if !borrowOdd(k) && got.Value(k) != want.Value(k) {
			t.Fatalf("value of %q changed with the input: %q, was %q", k, got.Value(k), want.Value(k))
		}
	}
}

// TestParseBorrowing checks what is borrowed and what is not: a borrowed
// body value is a view of the body, decoded in place when it has escapes;
// every other key and value, and every value of the query string, owns its
// memory.
func TestParseBorrowing(t *testing.T) {
	const query = "E.3.MessageBody=in+query"
	body := "Action=SendMessageBatch&E.1.MessageBody=plain&E.2.MessageBody=a+b%21&QueueUrl=q&E.1.Id=x"
	want, err := ParseForm(FormLimits{}, []byte(query), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	checkBorrowing(t, []byte(body), mustParse(t, body))
	borrow := func(k string) bool { return strings.HasSuffix(k, ".MessageBody") }
	q, buf := []byte(query), []byte(body)
	var f Form
	if err := f.ParseBorrowing(FormLimits{}, borrow, q, buf); err != nil {
		t.Fatal(err)
	}
	for _, k := range want.Keys() {
		if f.Value(k) != want.Value(k) {
			t.Errorf("%s = %q, want %q", k, f.Value(k), want.Value(k))
		}
	}
	if !bytes.Contains(buf, []byte("=a b!")) {
		t.Errorf("escaped borrowed value not decoded in place: body now %q", buf)
	}
	copy(buf[bytes.Index(buf, []byte("plain")):], "PLAIN")
	if got := f.Value("E.1.MessageBody"); got != "PLAIN" {
		t.Errorf("borrowed value without escapes = %q, want a view of the body", got)
	}
	copy(buf[bytes.Index(buf, []byte("a b!")):], "zzzz")
	if got := f.Value("E.2.MessageBody"); got != "zzzz" {
		t.Errorf("borrowed value with escapes = %q, want a view of the body", got)
	}
	copy(buf, "XXXXXX")
	copy(q, strings.Repeat("#", len(q)))
	if got := f.Value("Action"); got != "SendMessageBatch" {
		t.Errorf("Action = %q after the body changed", got)
	}
	if got := f.Value("E.3.MessageBody"); got != "in query" {
		t.Errorf("query-string value = %q after the query changed: it must own its memory", got)
	}
	// A malformed escape in a borrowed value fails like any other.
	if err := f.ParseBorrowing(FormLimits{}, borrow, nil, []byte("E.1.MessageBody=bad%zz")); err == nil {
		t.Error("malformed escape in a borrowed value accepted")
	}
	allocs := testing.AllocsPerRun(100, func() {
		buf := []byte(body) // decoded in place: a fresh copy each time
		if err := f.ParseBorrowing(FormLimits{}, borrow, nil, buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2 { // the copy above and the owned keys and values
		t.Errorf("ParseBorrowing allocates %v times per call, want <= 2", allocs)
	}
}

func mustParse(t *testing.T, body string) *Form {
	t.Helper()
	f, err := ParseForm(FormLimits{}, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestParseFormAllocs bounds the decoder's cost on a typical SendMessage
// body with a reused Form: one copy of the body plus unescaped values.
func TestParseFormAllocs(t *testing.T) {
	body := []byte("Action=SendMessage&QueueUrl=http%3A%2F%2Flocalhost%3A4566%2F000000000000%2Fq&MessageBody=hello&Version=2012-11-05")
	var form Form
	allocs := testing.AllocsPerRun(100, func() {
		if err := form.Parse(FormLimits{}, body); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2 {
		t.Fatalf("Parse allocates %v times per call, want <= 2", allocs)
	}
}

// FuzzUnescapeForm checks the form decoder against net/url's: the same
// text for every valid input (url.QueryUnescape has the same '+' and %XX
// rules), failure exactly where url fails, and no allocation-free result
// that differs from the input.
func FuzzUnescapeForm(f *testing.F) {
	for _, s := range []string{"", "plain", "a+b", "%41%42c", "%4", "%zz", "x%", "100%25+sure%21", strings.Repeat("ab%20", 40),
		// Runs longer than shortRunBytes (the IndexByte path), with one or
		// both escape kinds after them, and a bad escape after a long run.
		strings.Repeat("a", 40) + "%41" + strings.Repeat("b", 40) + "+c" + strings.Repeat("d", 20),
		strings.Repeat("x", 17) + "+" + strings.Repeat("y", 33), strings.Repeat("z", 30) + "%4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := unescapeForm(s)
		want, err := url.QueryUnescape(s)
		if ok != (err == nil) {
			t.Fatalf("unescapeForm(%q) ok=%v, url.QueryUnescape err=%v", s, ok, err)
		}
		if ok && got != want {
			t.Fatalf("unescapeForm(%q) = %q, want %q", s, got, want)
		}
		// The in-place decoder over a copy gives the same.
		b := []byte(s)
		inPlace, ok2 := unescapeFormInPlace(b)
		if ok2 != ok || ok && inPlace != want {
			t.Fatalf("unescapeFormInPlace(%q) = %q, %v; want %q, %v", s, inPlace, ok2, want, ok)
		}
		if ok && len(inPlace) > 0 && unsafe.StringData(inPlace) != &b[0] {
			t.Fatalf("unescapeFormInPlace(%q) did not decode over its input", s)
		}
	})
}

func BenchmarkUnescapeForm(b *testing.B) {
	for _, c := range []struct{ name, text string }{
		// A 1 KiB JSON message body: an escape every few bytes.
		{"json", strings.Repeat(`{"n": 12, "text": "The quick brown fox, jumps!"} `, 21)[:1024]},
		// 1 KiB of base64 (binary payloads sent as text): '+', '/' and
		// '=' escaped, long plain runs between.
		{"base64", base64.StdEncoding.EncodeToString([]byte(strings.Repeat("\xfb\xef\x01 quick brown fox ", 60)))[:1024]},
		// 1 KiB of letters and digits behind a short spaced header (what
		// sluice bench sends).
		{"alnum", ("sb1 1a2b3c4d 1764250000000000000 0 12 345|" + strings.Repeat("Zq8", 400))[:1024]},
	} {
		body := url.QueryEscape(c.text)
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, ok := unescapeForm(body); !ok {
					b.Fatal("decode failed")
				}
			}
		})
	}
}
