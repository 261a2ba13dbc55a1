package awsproto

import (
	"fmt"
	"slices"
	"strings"
	"unsafe"
)

// FormLimits bounds what ParseForm accepts. The zero value means defaults.
type FormLimits struct {
	// ParamsMax is the most key=value pairs one request may carry.
	// SendMessageBatch with 10 entries of 10 message attributes each needs
	// about 500. Default: 4096.
	ParamsMax int
	// KeyBytesMax is the longest parameter name, after unescaping.
	// Default: 512 bytes.
	KeyBytesMax int
	// IndexMax is the largest member index accepted in flattened lists
	// ("Attribute.N.Name"). Default: 10000.
	IndexMax int
}

const (
	formParamsMaxDefault   = 4096
	formKeyBytesMaxDefault = 512
	formIndexMaxDefault    = 10000
)

func (l FormLimits) withDefaults() FormLimits {
	if l.ParamsMax <= 0 {
		l.ParamsMax = formParamsMaxDefault
	}
	if l.KeyBytesMax <= 0 {
		l.KeyBytesMax = formKeyBytesMaxDefault
	}
	if l.IndexMax <= 0 {
		l.IndexMax = formIndexMaxDefault
	}
	return l
}

type formPair struct {
	key, value string
}

// Form is a decoded query-protocol request: the parameters of an
// application/x-www-form-urlencoded body and/or URL query string, sorted by
// name. Keys and values are strings that own their memory (they do not alias
// the request buffer), so handlers may keep them; the exception is the
// values ParseBorrowing was told to borrow.
//
// The decoder is strict: a malformed percent escape, an empty parameter name,
// a name over KeyBytesMax, more than ParamsMax parameters, or the same name
// given twice with different values are all MalformedQueryString.
type Form struct {
	pairs  []formPair
	limits FormLimits
}

// ParseForm decodes each part (for example the URL's raw query and the POST
// body) into one Form. Errors are *Error with code MalformedQueryString.
func ParseForm(limits FormLimits, parts ...[]byte) (*Form, error) {
	f := &Form{}
	if err := f.Parse(limits, parts...); err != nil {
		return nil, err
	}
	return f, nil
}

// Reset empties f for reuse, keeping its capacity.
func (f *Form) Reset() {
	clear(f.pairs)
	f.pairs = f.pairs[:0]
}

// Parse resets f and decodes parts into it (see ParseForm).
func (f *Form) Parse(limits FormLimits, parts ...[]byte) error {
	f.Reset()
	f.limits = limits.withDefaults()
	for _, part := range parts {
		if err := f.parsePart(part, nil); err != nil {
			return err
		}
	}
	return f.sortAndCheck()
}

// ParseBorrowing is Parse of a URL query string and a form body, except
// that in body the value of a parameter whose name borrow accepts (nil:
// none) is not copied: it is a view of body, decoded in place there when it
// has escapes. It is for large values that are read once while the request
// is served (SQS message bodies) and would otherwise be copied for
// nothing. The caller gives body up to f: it must not read body afterwards
// (even when parsing fails), nor use a borrowed value once body is reused.
func (f *Form) ParseBorrowing(limits FormLimits, borrow func(key string) bool, query, body []byte) error {
	f.Reset()
	f.limits = limits.withDefaults()
	if err := f.parsePart(query, nil); err != nil {
		return err
	}
	if err := f.parsePart(body, borrow); err != nil {
		return err
	}
	return f.sortAndCheck()
}

func (f *Form) parsePart(part []byte, borrow func(key string) bool) error {
	if len(part) == 0 {
		return nil
	}
	// Keys and values start as views of part (or, with escapes, as their
	// own unescaped copies); own then moves the views into one new string,
	// except borrowed values.
	s := unsafe.String(unsafe.SliceData(part), len(part))
	first := len(f.pairs)
	for len(s) > 0 {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue // "a=1&&b=2" is accepted, as every form parser does
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key, ok := unescapeForm(rawKey)
		if !ok {
			return malformedQuery("invalid percent-encoding in parameter name")
		}
		if key == "" {
			return malformedQuery("empty parameter name")
		}
		if len(key) > f.limits.KeyBytesMax {
			return malformedQuery(fmt.Sprintf("parameter name longer than %d bytes", f.limits.KeyBytesMax))
		}
		var value string
		if borrow != nil && len(rawValue) > 0 && borrow(key) {
			// rawValue is a view of part: decode it over itself.
			off := uintptr(unsafe.Pointer(unsafe.StringData(rawValue))) - uintptr(unsafe.Pointer(unsafe.SliceData(part)))
			value, ok = unescapeFormInPlace(part[off : off+uintptr(len(rawValue))])
		} else {
			value, ok = unescapeForm(rawValue)
		}
		if !ok {
			return malformedQuery("invalid percent-encoding in the value of " + key)
		}
		if len(f.pairs) >= f.limits.ParamsMax {
			return malformedQuery(fmt.Sprintf("more than %d parameters", f.limits.ParamsMax))
		}
		f.pairs = append(f.pairs, formPair{key: key, value: value})
	}
	f.own(f.pairs[first:], part, borrow)
	return nil
}

// own re-points the keys and values of pairs that are views of part at one
// new string holding them all, leaving borrowed values as they are.
func (f *Form) own(pairs []formPair, part []byte, borrow func(key string) bool) {
	start := uintptr(unsafe.Pointer(unsafe.SliceData(part)))
	view := func(s string) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		return len(s) > 0 && p >= start && p < start+uintptr(len(part))
	}
	keep := func(p *formPair) bool { return view(p.value) && (borrow == nil || !borrow(p.key)) }
	n := 0
	for i := range pairs {
		p := &pairs[i]
		if keep(p) {
			n += len(p.value)
		}
		if view(p.key) {
			n += len(p.key)
		}
	}
	arena := make([]byte, 0, n) // never appended past n: views stay valid
	moved := func(s string) string {
		off := len(arena)
		arena = append(arena, s...)
		return unsafe.String(&arena[off], len(s))
	}
	for i := range pairs {
		p := &pairs[i]
		if keep(p) { // before the key moves: borrow tests the key's text
			p.value = moved(p.value)
		}
		if view(p.key) {
			p.key = moved(p.key)
		}
	}
}

func (f *Form) sortAndCheck() error {
	slices.SortStableFunc(f.pairs, func(a, b formPair) int { return strings.Compare(a.key, b.key) })
	out := f.pairs[:0]
	for i, p := range f.pairs {
		if i > 0 && p.key == f.pairs[i-1].key {
			if p.value != f.pairs[i-1].value {
				return malformedQuery("parameter " + p.key + " given more than once")
			}
			continue
		}
		out = append(out, p)
	}
	clear(f.pairs[len(out):])
	f.pairs = out
	return nil
}

func malformedQuery(detail string) *Error {
	return ErrMalformedQueryString.WithMessage("The query string is malformed: " + detail + ".")
}

// unescapeForm decodes application/x-www-form-urlencoded text: '+' is a
// space and %XX a byte. It returns ok=false on a truncated or non-hex escape.
// Text without escapes is returned as is, without allocating; otherwise one
// allocation holds the result. Message bodies arrive here (SendMessage over
// the query protocol): runs between escapes are copied by a byte loop while
// short (escape-dense text such as JSON, where a call per run costs more),
// and past shortRunBytes the rest of the run is found with
// strings.IndexByte (vectorized) and copied whole (letters, digits, base64).
func unescapeForm(s string) (string, bool) {
	pctAt, plusAt := strings.IndexByte(s, '%'), strings.IndexByte(s, '+')
	if pctAt < 0 && plusAt < 0 {
		return s, true
	}
	buf := make([]byte, len(s)) // decoded text is never longer
	n, ok := unescapeFormTo(buf, s, pctAt, plusAt)
	if !ok {
		return "", false
	}
	// buf is not written after this: the string may share its memory.
	return unsafe.String(unsafe.SliceData(buf), n), true
}

// unescapeFormInPlace is unescapeForm of b's text, decoded over b itself
// (the result is a view of b). On failure b holds partly decoded text.
func unescapeFormInPlace(b []byte) (string, bool) {
	s := unsafe.String(unsafe.SliceData(b), len(b))
	pctAt, plusAt := strings.IndexByte(s, '%'), strings.IndexByte(s, '+')
	if pctAt < 0 && plusAt < 0 {
		return s, true
	}
	n, ok := unescapeFormTo(b, s, pctAt, plusAt)
	if !ok {
		return "", false
	}
	return unsafe.String(unsafe.SliceData(b), n), true
}

// unescapeFormTo decodes s, whose first '%' and '+' are at pctAt and plusAt
// (-1: none), into buf (len(s) bytes) and returns the decoded length. buf
// may be s's own memory: every byte is written at or before the position
// it is read from, and s is only read ahead of what has been written.
func unescapeFormTo(buf []byte, s string, pctAt, plusAt int) (int, bool) {
	// pctAt and plusAt are the next '%' and '+' at or after the position
	// they were found from (len(s): none); each is searched again only
	// once decoding has passed it, so every byte is searched at most once
	// per kind.
	if pctAt < 0 {
		pctAt = len(s)
	}
	if plusAt < 0 {
		plusAt = len(s)
	}
	i := min(pctAt, plusAt)
	n := copy(buf, s[:i])
	for i < len(s) {
		switch s[i] {
		case '%':
			if i+2 >= len(s) {
				return 0, false
			}
			hi, lo := hexValue[s[i+1]], hexValue[s[i+2]]
			if hi > 0xf || lo > 0xf {
				return 0, false
			}
			buf[n] = hi<<4 | lo
			n++
			i += 3
		case '+':
			buf[n] = ' '
			n++
			i++
		default:
			for k := 0; i < len(s) && !formEscape[s[i]]; k++ {
				if k == shortRunBytes {
					if pctAt < i {
						pctAt = indexByteFrom(s, i, '%')
					}
					if plusAt < i {
						plusAt = indexByteFrom(s, i, '+')
					}
					next := min(pctAt, plusAt)
					n += copy(buf[n:], s[i:next])
					i = next
					break
				}
				buf[n] = s[i]
				n++
				i++
			}
		}
	}
	return n, true
}

// shortRunBytes is how long a run of plain bytes unescapeForm copies byte
// by byte before it looks for the run's end with strings.IndexByte.
const shortRunBytes = 16

// indexByteFrom returns the index of the first c in s at or after from,
// or len(s).
func indexByteFrom(s string, from int, c byte) int {
	if k := strings.IndexByte(s[from:], c); k >= 0 {
		return from + k
	}
	return len(s)
}

// formEscape marks the bytes unescapeForm rewrites.
var formEscape = [256]bool{'%': true, '+': true}

// hexValue maps a hex digit to its value and every other byte to 0xff.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a') + 10
		t[c-'a'+'A'] = byte(c-'a') + 10
	}
	return t
}()

// Len returns the number of distinct parameters.
func (f *Form) Len() int { return len(f.pairs) }

// Get returns the value of parameter key and whether it was present.
func (f *Form) Get(key string) (string, bool) {
	i, found := slices.BinarySearchFunc(f.pairs, key, func(p formPair, k string) int { return strings.Compare(p.key, k) })
	if !found {
		return "", false
	}
	return f.pairs[i].value, true
}

// Value returns the value of parameter key, or "" when absent.
func (f *Form) Value(key string) string {
	v, _ := f.Get(key)
	return v
}

// Has reports whether parameter key is present.
func (f *Form) Has(key string) bool {
	_, ok := f.Get(key)
	return ok
}

// Keys returns the parameter names in sorted order, for example to reject or
// log parameters an action does not know.
func (f *Form) Keys() []string {
	keys := make([]string, len(f.pairs))
	for i, p := range f.pairs {
		keys[i] = p.key
	}
	return keys
}

// Member is one element of a flattened (indexed) list such as
// "Attribute.3.Name=x&Attribute.3.Value=y": Index is 3 and Fields holds
// "Name" and "Value". A scalar list element ("AttributeName.2=All") has its
// value under the empty key: Fields.Value("").
type Member struct {
	Index  int
	Fields *Form
}

// Members collects the elements of the flattened list whose parameters start
// with prefix+".N" (N a decimal index ≥ 1 without leading zeros) and returns
// them ordered by index. Gaps in the numbering are allowed. prefix may itself
// be dotted: SNS's "Tags.member" or "Attributes.entry". A malformed index is
// MalformedQueryString. Fields forms share strings with f.
func (f *Form) Members(prefix string) ([]Member, error) {
	// Sorted keys put every key that starts with prefix in one run; the
	// list's are those of them that continue with a dot.
	start, _ := slices.BinarySearchFunc(f.pairs, prefix, func(p formPair, k string) int { return strings.Compare(p.key, k) })
	end, n := start, 0
	for ; end < len(f.pairs) && strings.HasPrefix(f.pairs[end].key, prefix); end++ {
		if inList(f.pairs[end].key, prefix) {
			n++
		}
	}
	if n == 0 {
		return nil, nil
	}
	// One array for all the members' fields and one for their Forms: the
	// fields of one index are adjacent in sorted order, so each member's
	// are a run of fields (capped, so that an append cannot run into the
	// next member's).
	fields := make([]formPair, 0, n)
	forms := make([]Form, 0, n)
	var members []Member
	for _, p := range f.pairs[start:end] {
		if !inList(p.key, prefix) {
			continue
		}
		rest := p.key[len(prefix)+1:]
		digits, field, hasField := strings.Cut(rest, ".")
		index, ok := parseIndex(digits, f.limits.IndexMax)
		if !ok || (hasField && field == "") {
			return nil, malformedQuery("invalid member index in " + p.key)
		}
		fields = append(fields, formPair{key: field, value: p.value})
		m := findMember(members, index)
		switch {
		case m == nil:
			forms = append(forms, Form{limits: f.limits})
			members = append(members, Member{Index: index, Fields: &forms[len(forms)-1]})
			m = &members[len(members)-1]
			m.Fields.pairs = fields[len(fields)-1 : len(fields) : len(fields)]
		case &m.Fields.pairs[0] == &fields[len(fields)-1-len(m.Fields.pairs)]:
			// The next field of the last member: extend its run.
			m.Fields.pairs = fields[len(fields)-1-len(m.Fields.pairs) : len(fields) : len(fields)]
		default:
			m.Fields.pairs = append(m.Fields.pairs, fields[len(fields)-1])
		}
	}
	slices.SortFunc(members, func(a, b Member) int { return a.Index - b.Index })
	for _, m := range members {
		// Keys arrive sorted by the full key, which sorts fields within one
		// index; re-sort to be independent of that reasoning.
		slices.SortFunc(m.Fields.pairs, func(a, b formPair) int { return strings.Compare(a.key, b.key) })
	}
	return members, nil
}

// inList reports whether key is prefix followed by a dot.
func inList(key, prefix string) bool {
	return len(key) > len(prefix) && key[len(prefix)] == '.' && key[:len(prefix)] == prefix
}

func findMember(members []Member, index int) *Member {
	// Parameters of one index are usually adjacent in sorted order, so look
	// at the last member first.
	for i := len(members) - 1; i >= 0; i-- {
		if members[i].Index == index {
			return &members[i]
		}
	}
	return nil
}

func parseIndex(s string, indexMax int) (int, bool) {
	if s == "" || s[0] == '0' || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n <= indexMax
}

// List returns the values of a flattened scalar list such as
// "AttributeName.1=All&AttributeName.2=Policy", ordered by index. A member
// with sub-fields ("AttributeName.1.X") is MalformedQueryString.
func (f *Form) List(prefix string) ([]string, error) {
	members, err := f.Members(prefix)
	if err != nil {
		return nil, err
	}
	values := make([]string, 0, len(members))
	for _, m := range members {
		v, ok := m.Fields.Get("")
		if !ok || m.Fields.Len() != 1 {
			return nil, malformedQuery(fmt.Sprintf("%s.%d is not a scalar list element", prefix, m.Index))
		}
		values = append(values, v)
	}
	return values, nil
}

// Map returns a flattened map such as "Attribute.N.Name / Attribute.N.Value"
// (keyField "Name", valueField "Value") or SNS's "Attributes.entry.N.key /
// .value". A member without keyField is MissingParameter; a repeated key is
// InvalidParameterValue. Returns nil when no member is present.
func (f *Form) Map(prefix, keyField, valueField string) (map[string]string, error) {
	members, err := f.Members(prefix)
	if err != nil || len(members) == 0 {
		return nil, err
	}
	out := make(map[string]string, len(members))
	for _, m := range members {
		k, ok := m.Fields.Get(keyField)
		if !ok {
			return nil, ErrMissingParameter.WithMessage(fmt.Sprintf("The request must contain the parameter %s.%d.%s.", prefix, m.Index, keyField))
		}
		if _, dup := out[k]; dup {
			return nil, ErrInvalidParameterValue.WithMessage(fmt.Sprintf("%s name %s is repeated.", prefix, k))
		}
		out[k] = m.Fields.Value(valueField)
	}
	return out, nil
}
