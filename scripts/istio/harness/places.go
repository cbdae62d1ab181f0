package main

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
)

// PatchPlace is one place in the pushed configuration that a patch changes. The shape is shared with
// Governor's own explanation of where patches land (PatchPlace in apps/bff/src/istio/explain-types.ts), so
// that the two can be compared.
type PatchPlace struct {
	Listener           string `json:"listener,omitempty"`
	FilterChain        string `json:"filterChain,omitempty"`
	RouteConfiguration string `json:"routeConfiguration,omitempty"`
	VirtualHost        string `json:"virtualHost,omitempty"`
	Route              string `json:"route,omitempty"`
	Cluster            string `json:"cluster,omitempty"`
}

func (p PatchPlace) key() []string {
	return []string{p.Listener, p.FilterChain, p.RouteConfiguration, p.VirtualHost, p.Route, p.Cluster}
}

const httpConnectionManager = "envoy.filters.network.http_connection_manager"

type jsonObject = map[string]any

// parsedDump is a configDump as generic JSON, for comparing two dumps resource by resource.
type parsedDump struct {
	listeners, routes, clusters []jsonObject
}

func parseDump(d configDump) (parsedDump, error) {
	var p parsedDump
	var err error
	if p.listeners, err = parseAll(d.listeners); err != nil {
		return p, err
	}
	if p.routes, err = parseAll(d.routes); err != nil {
		return p, err
	}
	p.clusters, err = parseAll(d.clusters)
	return p, err
}

func parseAll(raw []json.RawMessage) ([]jsonObject, error) {
	out := make([]jsonObject, 0, len(raw))
	for _, r := range raw {
		dec := json.NewDecoder(bytes.NewReader(r))
		// Numbers stay as written, so that no two distinct values compare equal.
		dec.UseNumber()
		var o jsonObject
		if err := dec.Decode(&o); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// placeSet collects places without duplicates: the transport chains of one port share a chain name.
type placeSet map[PatchPlace]bool

func (s placeSet) sorted() []PatchPlace {
	out := make([]PatchPlace, 0, len(s))
	for p := range s {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b PatchPlace) int { return slices.Compare(a.key(), b.key()) })
	return out
}

// changedPlaces lists where full differs from without (the configuration without one patch): the places
// that patch changes.
func changedPlaces(without, full parsedDump) []PatchPlace {
	places := placeSet{}
	pairByName(without.listeners, full.listeners, func(name string, a, b jsonObject) {
		if a == nil || b == nil {
			places[PatchPlace{Listener: name}] = true
			return
		}
		diffListener(places, name, a, b)
	})
	pairByName(without.routes, full.routes, func(name string, a, b jsonObject) {
		diffRouteConfiguration(places, name, a, b)
	})
	pairByName(without.clusters, full.clusters, func(name string, a, b jsonObject) {
		if !reflect.DeepEqual(a, b) {
			places[PatchPlace{Cluster: name}] = true
		}
	})
	return places.sorted()
}

func nameOf(o jsonObject) string {
	s, _ := o["name"].(string)
	return s
}

// names lists the objects' names, the ids most lists are matched by.
func names(list []jsonObject) []string {
	out := make([]string, len(list))
	for i, o := range list {
		out[i] = nameOf(o)
	}
	return out
}

// nameKey identifies an object of a list: the nth (from 0) of that name.
type nameKey struct {
	name string
	nth  int
}

func nameKeys(ids []string) []nameKey {
	seen := map[string]int{}
	out := make([]nameKey, len(ids))
	for i, n := range ids {
		out[i] = nameKey{n, seen[n]}
		seen[n]++
	}
	return out
}

// pairUp matches the objects of two lists by id (aIDs and bIDs, one per object), the kth object of an id
// in one with the kth of that id in the other (names repeat: the chains of one port, one per transport,
// share theirs), and calls f for each pair in the order of b, then of a's unmatched objects; a or b is
// nil where the other list has no counterpart.
func pairUp(
	as []jsonObject, aIDs []string, bs []jsonObject, bIDs []string, f func(id string, a, b jsonObject),
) {
	aKeys := nameKeys(aIDs)
	aIndex := make(map[nameKey]int, len(as))
	for i, k := range aKeys {
		aIndex[k] = i
	}
	matched := make([]bool, len(as))
	for i, k := range nameKeys(bIDs) {
		if j, ok := aIndex[k]; ok {
			matched[j] = true
			f(k.name, as[j], bs[i])
		} else {
			f(k.name, nil, bs[i])
		}
	}
	for j, k := range aKeys {
		if !matched[j] {
			f(k.name, as[j], nil)
		}
	}
}

func pairByName(as, bs []jsonObject, f func(name string, a, b jsonObject)) {
	pairUp(as, names(as), bs, names(bs), f)
}

// moved returns the indexes in bIDs of the objects that both lists hold (matched as pairUp does) but in
// another order relative to each other; objects in one list only do not count as moves.
func moved(aIDs, bIDs []string) []int {
	aKeys, bKeys := nameKeys(aIDs), nameKeys(bIDs)
	inA := map[nameKey]bool{}
	for _, k := range aKeys {
		inA[k] = true
	}
	inB := map[nameKey]bool{}
	for _, k := range bKeys {
		inB[k] = true
	}
	var common []nameKey
	for _, k := range aKeys {
		if inB[k] {
			common = append(common, k)
		}
	}
	var out []int
	n := 0
	for i, k := range bKeys {
		if !inA[k] {
			continue
		}
		if common[n] != k {
			out = append(out, i)
		}
		n++
	}
	return out
}

func objects(v any) []jsonObject {
	list, _ := v.([]any)
	out := make([]jsonObject, 0, len(list))
	for _, item := range list {
		o, _ := item.(jsonObject)
		out = append(out, o)
	}
	return out
}

// except returns o's fields other than the named ones, for comparing what the caller does not descend into.
func except(o jsonObject, fields ...string) jsonObject {
	out := make(jsonObject, len(o))
	for k, v := range o {
		if !slices.Contains(fields, k) {
			out[k] = v
		}
	}
	return out
}

func diffListener(places placeSet, listener string, a, b jsonObject) {
	own := func(o jsonObject) jsonObject { return except(o, "filterChains", "defaultFilterChain") }
	if !reflect.DeepEqual(own(a), own(b)) {
		places[PatchPlace{Listener: listener}] = true
	}
	ca, ia := chains(a)
	cb, ib := chains(b)
	// Chains are tried in order: a chain that moved relative to the others is a change to it.
	for _, i := range moved(ia, ib) {
		places[PatchPlace{Listener: listener, FilterChain: ib[i]}] = true
	}
	pairUp(ca, ia, cb, ib, func(chain string, a, b jsonObject) {
		if a == nil || b == nil {
			places[PatchPlace{Listener: listener, FilterChain: chain}] = true
			return
		}
		diffFilterChain(places, listener, chain, a, b)
	})
}

// chains returns a listener's filter chains, its default chain last, with the ids places name them by
// (as Governor's explanation does): the name, or #N for the Nth chain (from 0) when unnamed, #default for
// an unnamed default chain.
func chains(listener jsonObject) ([]jsonObject, []string) {
	list := objects(listener["filterChains"])
	ids := names(list)
	for i, id := range ids {
		if id == "" {
			ids[i] = "#" + strconv.Itoa(i)
		}
	}
	if d, ok := listener["defaultFilterChain"].(jsonObject); ok {
		list = append(list, d)
		id := nameOf(d)
		if id == "" {
			id = "#default"
		}
		ids = append(ids, id)
	}
	return list, ids
}

func diffFilterChain(places placeSet, listener, chain string, a, b jsonObject) {
	here := PatchPlace{Listener: listener, FilterChain: chain}
	if !reflect.DeepEqual(except(a, "filters"), except(b, "filters")) {
		places[here] = true
	}
	fa, fb := objects(a["filters"]), objects(b["filters"])
	if len(moved(names(fa), names(fb))) > 0 {
		places[here] = true
	}
	pairByName(fa, fb, func(filter string, a, b jsonObject) {
		if a == nil || b == nil {
			places[here] = true
			return
		}
		if filter != httpConnectionManager {
			if !reflect.DeepEqual(a, b) {
				places[here] = true
			}
			return
		}
		if !reflect.DeepEqual(except(a, "typedConfig"), except(b, "typedConfig")) {
			places[here] = true
		}
		ta, _ := a["typedConfig"].(jsonObject)
		tb, _ := b["typedConfig"].(jsonObject)
		if !reflect.DeepEqual(except(ta, "routeConfig"), except(tb, "routeConfig")) {
			places[here] = true
		}
		// An inline route table is a route configuration of its own, named as such, not by the listener.
		ra, _ := ta["routeConfig"].(jsonObject)
		rb, _ := tb["routeConfig"].(jsonObject)
		switch {
		case ra == nil && rb == nil:
		case ra == nil || rb == nil || nameOf(ra) != nameOf(rb):
			diffRouteConfiguration(places, nameOf(ra), ra, nil)
			diffRouteConfiguration(places, nameOf(rb), nil, rb)
		default:
			diffRouteConfiguration(places, nameOf(rb), ra, rb)
		}
	})
}

// diffRouteConfiguration compares two versions of a route configuration; a nil one is absent (nothing is
// reported when both are).
func diffRouteConfiguration(places placeSet, rc string, a, b jsonObject) {
	if a == nil && b == nil {
		return
	}
	if a == nil || b == nil {
		places[PatchPlace{RouteConfiguration: rc}] = true
		return
	}
	if !reflect.DeepEqual(except(a, "virtualHosts"), except(b, "virtualHosts")) {
		places[PatchPlace{RouteConfiguration: rc}] = true
	}
	va, vb := objects(a["virtualHosts"]), objects(b["virtualHosts"])
	pairByName(va, vb, func(vh string, a, b jsonObject) {
		here := PatchPlace{RouteConfiguration: rc, VirtualHost: vh}
		if a == nil || b == nil || !reflect.DeepEqual(except(a, "routes"), except(b, "routes")) {
			places[here] = true
		}
		if a == nil || b == nil {
			return
		}
		ra, rb := objects(a["routes"]), objects(b["routes"])
		// Routes are matched in order: a route that moved relative to the others routes differently.
		ia, ib := routeIDs(ra), routeIDs(rb)
		for _, i := range moved(ia, ib) {
			places[PatchPlace{RouteConfiguration: rc, VirtualHost: vh, Route: ib[i]}] = true
		}
		pairUp(ra, ia, rb, ib, func(route string, a, b jsonObject) {
			if a == nil || b == nil || !reflect.DeepEqual(a, b) {
				places[PatchPlace{RouteConfiguration: rc, VirtualHost: vh, Route: route}] = true
			}
		})
	})
}

// routeIDs are the ids places name routes by (as Governor's explanation does): the name, or #N for the
// Nth unnamed route of the virtual host, from 0.
func routeIDs(routes []jsonObject) []string {
	ids := names(routes)
	unnamed := 0
	for i, id := range ids {
		if id == "" {
			ids[i] = "#" + strconv.Itoa(unnamed)
			unnamed++
		}
	}
	return ids
}
