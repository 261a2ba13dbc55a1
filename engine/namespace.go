package engine

import "unicode/utf8"

// Namespace is the (account, region) pair every resource lives in, as in
// AWS: two regions may hold resources of the same name that share nothing.
type Namespace struct {
	Account string
	Region  string
}

// String renders the namespace as "account/region" for logs and errors.
func (ns Namespace) String() string { return ns.Account + "/" + ns.Region }

// namespaceFieldMaxBytes bounds Account and Region; AWS account ids are 12
// digits and region names are short, so this is generous.
const namespaceFieldMaxBytes = 64

// Validate checks that both fields are non-empty, valid UTF-8 and at most 64
// bytes.
func (ns Namespace) Validate() error {
	for _, f := range []struct{ name, value string }{{"Account", ns.Account}, {"Region", ns.Region}} {
		switch {
		case f.value == "":
			return invalidf("Namespace."+f.name, "must not be empty")
		case len(f.value) > namespaceFieldMaxBytes:
			return invalidf("Namespace."+f.name, "longer than %d bytes", namespaceFieldMaxBytes)
		case !utf8.ValidString(f.value):
			return invalidf("Namespace."+f.name, "not valid UTF-8")
		}
	}
	return nil
}
