package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	udpatype "github.com/cncf/xds/go/udpa/type/v1"
	xdstype "github.com/cncf/xds/go/xds/type/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// EnvoyValidationEntry is one failed protoc-gen-validate rule: the checks Envoy runs on every resource it
// receives (and on every typed config inside it) before using it, so a failure here is a config Envoy
// rejects.
type EnvoyValidationEntry struct {
	// "listener NAME", "route NAME" or "cluster NAME".
	Resource string `json:"resource"`
	// Where in the resource the failing message sits, as protojson names it; "" for the resource itself.
	Path string `json:"path"`
	// The failing message's full proto name.
	Type  string `json:"type"`
	Error string `json:"error"`
}

type namedResource struct {
	kind, name string
	msg        proto.Message
}

type validator interface{ ValidateAll() error }

// envoyCheck holds what validating a dump found.
type envoyCheck struct {
	errors []EnvoyValidationEntry
	// Type URLs of typed configs whose Go type is not linked into the harness: not checked.
	unchecked map[string]bool
}

func validateEnvoy(resources []namedResource) ([]EnvoyValidationEntry, []string) {
	c := &envoyCheck{errors: []EnvoyValidationEntry{}, unchecked: map[string]bool{}}
	for _, r := range resources {
		c.message(r.kind+" "+r.name, "", r.msg.ProtoReflect())
	}
	unchecked := make([]string, 0, len(c.unchecked))
	for u := range c.unchecked {
		unchecked = append(unchecked, u)
	}
	slices.Sort(unchecked)
	return c.errors, unchecked
}

// message validates m (its ValidateAll covers its fields and nested messages, but not the contents of its
// Any fields), then looks for Any fields below it and validates what they hold.
func (c *envoyCheck) message(resource, path string, m protoreflect.Message) {
	if v, ok := m.Interface().(validator); ok {
		if err := v.ValidateAll(); err != nil {
			for _, e := range splitMulti(err) {
				c.errors = append(c.errors, EnvoyValidationEntry{
					Resource: resource, Path: path, Type: string(m.Descriptor().FullName()), Error: e.Error(),
				})
			}
		}
	}
	c.walk(resource, path, m)
}

func (c *envoyCheck) walk(resource, path string, m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind {
			return true
		}
		at := joinPath(path, fd.JSONName())
		switch {
		case fd.IsList():
			list := v.List()
			for i := range list.Len() {
				c.field(resource, fmt.Sprintf("%s[%d]", at, i), list.Get(i).Message())
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				c.field(resource, fmt.Sprintf("%s[%q]", at, k.String()), mv.Message())
				return true
			})
		default:
			c.field(resource, at, v.Message())
		}
		return true
	})
}

func (c *envoyCheck) field(resource, path string, m protoreflect.Message) {
	a, ok := m.Interface().(*anypb.Any)
	if !ok {
		c.walk(resource, path, m)
		return
	}
	inner, err := c.unpack(a)
	if err != nil {
		c.errors = append(c.errors, EnvoyValidationEntry{
			Resource: resource, Path: path, Type: typeName(a.GetTypeUrl()), Error: err.Error(),
		})
		return
	}
	if inner != nil {
		c.message(resource, path, inner.ProtoReflect())
	}
}

// unpack returns the message an Any holds, as Envoy reads it: a TypedStruct (what EnvoyFilters mostly
// carry) is converted through JSON into the type its type_url names. nil when that type is not linked.
func (c *envoyCheck) unpack(a *anypb.Any) (proto.Message, error) {
	m, err := anypb.UnmarshalNew(a, proto.UnmarshalOptions{Resolver: protoregistry.GlobalTypes})
	if errors.Is(err, protoregistry.NotFound) {
		c.unchecked[a.GetTypeUrl()] = true
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var typeURL string
	var value *structpb.Struct
	switch ts := m.(type) {
	case *udpatype.TypedStruct:
		typeURL, value = ts.GetTypeUrl(), ts.GetValue()
	case *xdstype.TypedStruct:
		typeURL, value = ts.GetTypeUrl(), ts.GetValue()
	default:
		return m, nil
	}
	// The TypedStruct's own rules first: Envoy checks the wrapper before converting it.
	if v, ok := m.(validator); ok {
		if err := v.ValidateAll(); err != nil {
			return nil, err
		}
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByURL(typeURL)
	if err != nil {
		c.unchecked[typeURL] = true
		return nil, nil
	}
	js, err := protojson.Marshal(value)
	if err != nil {
		return nil, err
	}
	inner := mt.New().Interface()
	// Unknown fields are dropped: Envoy accepts them in dynamic config (unless started with
	// --reject-unknown-dynamic-fields), counting them in server.dynamic_unknown_fields.
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(js, inner); err != nil {
		return nil, fmt.Errorf("TypedStruct of %s: %w", typeURL, err)
	}
	return inner, nil
}

// splitMulti lists the errors of a protoc-gen-validate MultiError (a []error), one per failed rule.
func splitMulti(err error) []error {
	if multi, ok := err.(interface{ AllErrors() []error }); ok && len(multi.AllErrors()) > 0 {
		return multi.AllErrors()
	}
	return []error{err}
}

func joinPath(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func typeName(typeURL string) string {
	return typeURL[strings.LastIndex(typeURL, "/")+1:]
}
