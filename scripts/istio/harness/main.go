// Command istio-harness runs istiod's config pipeline in process: given Kubernetes and Istio objects as
// YAML and a proxy (a Pod), it prints as JSON the listeners, routes and clusters istiod would push to that
// proxy, with every EnvoyFilter applied; the EnvoyFilter patches that changed nothing, and where each other
// patch changed the configuration; Istio's own validation of each Istio object; and Envoy's own field
// rules on what istiod would push.
//
//	istio-harness -f FILE [-f FILE]... --proxy NAMESPACE/POD [--gateway] [--proxy-version 1.31.0]
//
// Exit status: 0 when every object is valid, every patch changed something and Envoy would accept every
// resource, 1 otherwise, 2 on a usage or input error.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"k8s.io/apimachinery/pkg/runtime"

	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pkg/config/constants"
	"istio.io/istio/pkg/log"
)

type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

// Output is what the harness prints.
type Output struct {
	Proxy     ProxyInfo         `json:"proxy"`
	Listeners []json.RawMessage `json:"listeners"`
	Routes    []json.RawMessage `json:"routes"`
	Clusters  []json.RawMessage `json:"clusters"`
	// Patches whose removal leaves the pushed configuration unchanged: they matched nothing (or set what was
	// already there). Istio itself only counts applied patches per EnvoyFilter and patch type, in the
	// pilot_envoy_filter_status gauge (PILOT_ENVOY_FILTER_STATS), so each patch is checked here by removal.
	UnappliedPatches []PatchInfo `json:"unappliedPatches"`
	// The other patches of those EnvoyFilters, each with the places it changes: where the configuration
	// without it differs from the full one.
	AppliedPatches []AppliedPatch `json:"appliedPatches"`
	// EnvoyFilters that do not apply to this proxy (another namespace, or a workload selector that does
	// not match its labels): their patches are not checked.
	UnselectedEnvoyFilters []string          `json:"unselectedEnvoyFilters"`
	Validation             []ValidationEntry `json:"validation"`
	// Envoy's own field rules (protoc-gen-validate) on every listener, route and cluster, and on the typed
	// configs inside them, TypedStructs converted to their types as Envoy does.
	EnvoyValidation []EnvoyValidationEntry `json:"envoyValidation"`
	// Type URLs of typed configs found in the resources whose types the harness does not link: unchecked.
	EnvoyUncheckedTypes []string `json:"envoyUncheckedTypes"`
	// Objects of kinds neither istiod's config store nor its Kubernetes registry reads.
	Ignored []ObjectRef `json:"ignored"`
}

type ProxyInfo struct {
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	IP        string            `json:"ip"`
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels"`
	// Services the proxy is a workload of: one inbound listener chain per port.
	ServiceTargets []string `json:"serviceTargets"`
}

type ObjectRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	File       string `json:"file"`
}

type ValidationEntry struct {
	ObjectRef
	Valid    bool     `json:"valid"`
	Errors   []string `json:"errors"`
	Warnings []string `json:"warnings"`
}

type PatchInfo struct {
	EnvoyFilter string          `json:"envoyFilter"`
	Index       int             `json:"index"`
	ApplyTo     string          `json:"applyTo"`
	Context     string          `json:"context"`
	Operation   string          `json:"operation"`
	Match       json.RawMessage `json:"match,omitempty"`
}

type AppliedPatch struct {
	PatchInfo
	Places []PatchPlace `json:"places"`
}

func main() {
	// istiod's packages log to stdout; only the JSON goes there. Everything else written to fd 1 goes to stderr.
	out, err := redirectStdout()
	if err != nil {
		fmt.Fprintln(os.Stderr, "istio-harness:", err)
		os.Exit(2)
	}
	quietLogs()
	code, err := run(os.Args[1:], out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "istio-harness:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func redirectStdout() (io.Writer, error) {
	fd, err := syscall.Dup(1)
	if err != nil {
		return nil, err
	}
	if err := syscall.Dup2(2, 1); err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "stdout"), nil
}

// quietLogs keeps istiod's logs (startup noise of controllers this harness does not feed) to
// ISTIO_HARNESS_VERBOSE runs.
func quietLogs() {
	level := log.NoneLevel
	if os.Getenv("ISTIO_HARNESS_VERBOSE") != "" {
		level = log.InfoLevel
	}
	o := log.DefaultOptions()
	o.OutputPaths = []string{"stderr"}
	o.ErrorOutputPaths = []string{"stderr"}
	o.SetDefaultOutputLevel(log.DefaultScopeName, level)
	_ = log.Configure(o)
	for _, scope := range log.Scopes() {
		scope.SetOutputLevel(level)
	}
}

func run(args []string, out io.Writer) (int, error) {
	fs := flag.NewFlagSet("istio-harness", flag.ContinueOnError)
	var files fileList
	fs.Var(&files, "f", "a YAML file of Kubernetes and Istio objects (repeatable)")
	proxyRef := fs.String("proxy", "", "the proxy's Pod, as NAMESPACE/POD")
	gateway := fs.Bool("gateway", false, "the Pod is a gateway (router) proxy, not a sidecar")
	// istiod shapes some config by the proxy's version; unset, its test server takes the proxy for 1.23.
	// The default is the release of the pinned Istio (its VERSION file): change it with the pin.
	proxyVersion := fs.String("proxy-version", "1.31.0", "the proxy's Istio version")
	if err := fs.Parse(args); err != nil {
		return 0, err
	}
	if len(files) == 0 || *proxyRef == "" || fs.NArg() > 0 {
		return 0, fmt.Errorf("usage: istio-harness -f FILE [-f FILE]... --proxy NAMESPACE/POD [--gateway]")
	}
	namespace, podName, ok := strings.Cut(*proxyRef, "/")
	if !ok || namespace == "" || podName == "" {
		return 0, fmt.Errorf("--proxy %q: want NAMESPACE/POD", *proxyRef)
	}

	in, err := readInputs(files)
	if err != nil {
		return 0, err
	}
	pod := in.findPod(namespace, podName)
	if pod == nil {
		return 0, fmt.Errorf("no Pod %s/%s in the input", namespace, podName)
	}

	t := newFailer()
	defer t.cleanup()
	objects := make([]runtime.Object, 0, len(in.kube))
	objects = append(objects, in.kube...)
	s := xds.NewFakeDiscoveryServer(t, xds.FakeOptions{KubernetesObjects: objects, Configs: in.configs})

	proxyType := model.SidecarProxy
	if *gateway {
		proxyType = model.Router
	}
	newProxy := func() *model.Proxy {
		return s.SetupProxy(&model.Proxy{
			Type:            proxyType,
			ID:              pod.Name + "." + pod.Namespace,
			IPAddresses:     []string{pod.Status.PodIP},
			ConfigNamespace: pod.Namespace,
			Labels:          pod.Labels,
			Metadata: &model.NodeMetadata{
				Namespace:    pod.Namespace,
				Labels:       pod.Labels,
				ClusterID:    constants.DefaultClusterName,
				IstioVersion: *proxyVersion,
			},
		})
	}
	proxy := newProxy()
	dump, err := dumpConfig(s, proxy)
	if err != nil {
		return 0, err
	}
	unapplied, applied, unselected, err := checkPatches(s, t, in, dump, newProxy)
	if err != nil {
		return 0, err
	}
	envoyErrors, unchecked := validateEnvoy(dump.resources)

	result := Output{
		Proxy: ProxyInfo{
			ID:             proxy.ID,
			Type:           string(proxy.Type),
			IP:             pod.Status.PodIP,
			Namespace:      pod.Namespace,
			Labels:         pod.Labels,
			ServiceTargets: serviceTargets(proxy),
		},
		Listeners:              dump.listeners,
		Routes:                 dump.routes,
		Clusters:               dump.clusters,
		UnappliedPatches:       unapplied,
		AppliedPatches:         applied,
		UnselectedEnvoyFilters: unselected,
		Validation:             in.validation,
		EnvoyValidation:        envoyErrors,
		EnvoyUncheckedTypes:    unchecked,
		Ignored:                in.ignored,
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(result); err != nil {
		return 0, err
	}
	code := 0
	for _, v := range in.validation {
		if !v.Valid {
			code = 1
		}
	}
	if len(unapplied) > 0 || len(envoyErrors) > 0 {
		code = 1
	}
	return code, nil
}

func serviceTargets(p *model.Proxy) []string {
	out := []string{}
	for _, st := range p.ServiceTargets {
		out = append(out, fmt.Sprintf("%s:%d", st.Service.Hostname, st.Port.Port))
	}
	return out
}
