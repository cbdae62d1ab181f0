package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	networking "istio.io/api/networking/v1alpha3"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pkg/config"
	"istio.io/istio/pkg/config/schema/gvk"
	// Every Envoy extension type istiod knows, so that typed configs print as JSON.
	_ "istio.io/istio/pkg/config/xds"
)

type configDump struct {
	listeners, routes, clusters []json.RawMessage
	// The same resources as messages, for Envoy's validation.
	resources []namedResource
}

func (d configDump) equal(o configDump) bool {
	eq := func(a, b []json.RawMessage) bool {
		return slices.EqualFunc(a, b, func(x, y json.RawMessage) bool { return string(x) == string(y) })
	}
	return eq(d.listeners, o.listeners) && eq(d.routes, o.routes) && eq(d.clusters, o.clusters)
}

func dumpConfig(s *xds.FakeDiscoveryServer, proxy *model.Proxy) (configDump, error) {
	listeners := s.Listeners(proxy)
	routes := s.RoutesFromListeners(proxy, listeners)
	clusters := s.Clusters(proxy)
	var d configDump
	for _, l := range listeners {
		d.resources = append(d.resources, namedResource{"listener", l.GetName(), l})
	}
	for _, r := range routes {
		d.resources = append(d.resources, namedResource{"route", r.GetName(), r})
	}
	for _, c := range clusters {
		d.resources = append(d.resources, namedResource{"cluster", c.GetName(), c})
	}
	var err error
	if d.listeners, err = marshalAll(listeners); err != nil {
		return d, err
	}
	if d.routes, err = marshalAll(routes); err != nil {
		return d, err
	}
	d.clusters, err = marshalAll(clusters)
	return d, err
}

func marshalAll[T proto.Message](messages []T) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, 0, len(messages))
	for _, m := range messages {
		b, err := protojson.Marshal(m)
		if err != nil {
			return nil, err
		}
		// protojson varies its spacing between builds; encoding/json re-indents it uniformly.
		out = append(out, json.RawMessage(b))
	}
	return out, nil
}

// checkPatches pushes each EnvoyFilter once without each of its patches in turn: a patch whose removal
// leaves the proxy's configuration unchanged matched nothing; otherwise where the configuration without it
// differs from the full one is where it applied. Each variant goes through istiod's own config-update path
// (store event, debounce, new push context), as an edit on a cluster would.
// Only EnvoyFilters that select the proxy (by namespace and workload selector) are checked; the others
// are returned by name.
func checkPatches(
	s *xds.FakeDiscoveryServer, t *failer, in *inputs, base configDump, newProxy func() *model.Proxy,
) (unapplied []PatchInfo, applied []AppliedPatch, unselected []string, err error) {
	unapplied, applied, unselected = []PatchInfo{}, []AppliedPatch{}, []string{}
	selected := map[string]bool{}
	if merged := s.PushContext().EnvoyFilters(newProxy()); merged != nil {
		for _, patches := range merged.Patches {
			for _, p := range patches {
				selected[p.Namespace+"/"+p.Name] = true
			}
		}
	}
	var full parsedDump
	parsed := false
	for _, cfg := range in.configs {
		if cfg.GroupVersionKind != gvk.EnvoyFilter {
			continue
		}
		if !selected[cfg.Namespace+"/"+cfg.Name] {
			unselected = append(unselected, cfg.Namespace+"/"+cfg.Name)
			continue
		}
		ef := cfg.Spec.(*networking.EnvoyFilter)
		for i, patch := range ef.ConfigPatches {
			without := proto.Clone(ef).(*networking.EnvoyFilter)
			without.ConfigPatches = slices.Delete(without.ConfigPatches, i, i+1)
			variant := cfg.DeepCopy()
			variant.Spec = without
			if err := replaceConfig(s, t, variant); err != nil {
				return nil, nil, nil, err
			}
			d, err := dumpConfig(s, newProxy())
			if err != nil {
				return nil, nil, nil, err
			}
			if err := replaceConfig(s, t, cfg); err != nil {
				return nil, nil, nil, err
			}
			var places []PatchPlace
			if !d.equal(base) {
				if !parsed {
					if full, err = parseDump(base); err != nil {
						return nil, nil, nil, err
					}
					parsed = true
				}
				less, err := parseDump(d)
				if err != nil {
					return nil, nil, nil, err
				}
				places = changedPlaces(less, full)
			}
			info := PatchInfo{
				EnvoyFilter: cfg.Namespace + "/" + cfg.Name,
				Index:       i,
				ApplyTo:     patch.GetApplyTo().String(),
				Context:     patch.GetMatch().GetContext().String(),
				Operation:   patch.GetPatch().GetOperation().String(),
			}
			if patch.GetMatch() != nil {
				if info.Match, err = protojson.Marshal(patch.GetMatch()); err != nil {
					return nil, nil, nil, err
				}
			}
			// Bytes that differ with no place changed (formatting alone) are no change either.
			if len(places) == 0 {
				unapplied = append(unapplied, info)
			} else {
				applied = append(applied, AppliedPatch{PatchInfo: info, Places: places})
			}
		}
	}
	return unapplied, applied, unselected, nil
}

// replaceConfig updates a config in the store and waits for the push context that includes it.
func replaceConfig(s *xds.FakeDiscoveryServer, t *failer, cfg config.Config) error {
	current := s.Store().Get(cfg.GroupVersionKind, cfg.Name, cfg.Namespace)
	if current == nil {
		return fmt.Errorf("%s %s/%s is not in the store", cfg.GroupVersionKind.Kind, cfg.Namespace, cfg.Name)
	}
	cfg.ResourceVersion = current.ResourceVersion
	before := s.PushContext()
	if _, err := s.Store().Update(cfg); err != nil {
		return fmt.Errorf("updating %s/%s: %w", cfg.Namespace, cfg.Name, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for s.PushContext() == before {
		if time.Now().After(deadline) {
			return fmt.Errorf("no push after updating %s/%s", cfg.Namespace, cfg.Name)
		}
		time.Sleep(time.Millisecond)
	}
	s.EnsureSynced(t)
	return nil
}
