package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubeyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pkg/config"
	"istio.io/istio/pkg/config/schema/collections"
	"istio.io/istio/pkg/config/schema/resource"
	kubelib "istio.io/istio/pkg/kube"
)

type inputs struct {
	// Istio objects that passed validation, for the config store (the API server rejects invalid ones).
	configs []config.Config
	// Kubernetes objects for istiod's Kubernetes registry (Services, Pods, EndpointSlices, ...).
	kube       []runtime.Object
	validation []ValidationEntry
	ignored    []ObjectRef
}

// Kubernetes kinds the fake cluster behind istiod's registry reads.
var kubeKinds = map[string]bool{
	"v1/Service": true, "v1/Pod": true, "v1/Endpoints": true, "v1/Namespace": true, "v1/Node": true,
	"v1/ConfigMap": true, "v1/Secret": true, "discovery.k8s.io/v1/EndpointSlice": true,
}

func readInputs(files []string) (*inputs, error) {
	in := &inputs{validation: []ValidationEntry{}, ignored: []ObjectRef{}}
	// One timestamp for all: istiod orders conflicting configs by creation time, then name.
	created := time.Now()
	ips := &podIPs{next: 1}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		reader := kubeyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := reader.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			if err := in.add(file, doc, created, ips); err != nil {
				return nil, err
			}
		}
	}
	ips.assign(in.kube)
	return in, nil
}

func (in *inputs) add(file string, doc []byte, created time.Time, ips *podIPs) error {
	var obj crd.IstioKind
	if err := yaml.Unmarshal(doc, &obj); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if obj.Kind == "" {
		return nil // an empty document, or only comments
	}
	if obj.Namespace == "" {
		obj.Namespace = "default"
	}
	gvk := obj.GroupVersionKind()
	ref := ObjectRef{APIVersion: obj.APIVersion, Kind: obj.Kind, Namespace: obj.Namespace, Name: obj.Name, File: file}
	if s, ok := collections.PilotGatewayAPI().FindByGroupVersionAliasesKind(resource.FromKubernetesGVK(&gvk)); ok {
		if s.IsClusterScoped() {
			ref.Namespace = ""
		}
		entry := ValidationEntry{ObjectRef: ref, Valid: true, Errors: []string{}, Warnings: []string{}}
		cfg, err := crd.ConvertObject(s, &obj, "cluster.local")
		if err != nil {
			entry.Valid = false
			entry.Errors = append(entry.Errors, err.Error())
			in.validation = append(in.validation, entry)
			return nil
		}
		if cfg.CreationTimestamp.IsZero() {
			cfg.CreationTimestamp = created
		}
		warning, err := s.ValidateConfig(*cfg)
		if warning != nil {
			entry.Warnings = append(entry.Warnings, warning.Error())
		}
		if err != nil {
			entry.Valid = false
			entry.Errors = append(entry.Errors, err.Error())
		} else {
			in.configs = append(in.configs, *cfg)
		}
		in.validation = append(in.validation, entry)
		return nil
	}
	if !kubeKinds[obj.APIVersion+"/"+obj.Kind] {
		in.ignored = append(in.ignored, ref)
		return nil
	}
	decoded, _, err := kubelib.IstioCodec.UniversalDeserializer().Decode(doc, nil, nil)
	if err != nil {
		return fmt.Errorf("%s: %s %s/%s: %w", file, obj.Kind, obj.Namespace, obj.Name, err)
	}
	if pod, ok := decoded.(*corev1.Pod); ok {
		if pod.Namespace == "" {
			pod.Namespace = "default"
		}
		ips.note(pod)
	} else if o, ok := decoded.(interface {
		GetNamespace() string
		SetNamespace(string)
	}); ok && o.GetNamespace() == "" && obj.Kind != "Namespace" && obj.Kind != "Node" {
		o.SetNamespace("default")
	}
	in.kube = append(in.kube, decoded)
	return nil
}

func (in *inputs) findPod(namespace, name string) *corev1.Pod {
	for _, o := range in.kube {
		if pod, ok := o.(*corev1.Pod); ok && pod.Namespace == namespace && pod.Name == name {
			return pod
		}
	}
	return nil
}

// podIPs makes each Pod a running, ready workload: istiod finds a proxy's Pod, and so its Services and
// inbound listeners, by the Pod's IP, and only ready Pods are endpoints. Fixtures rarely carry an IP.
type podIPs struct {
	next  int
	taken map[string]bool
}

func (p *podIPs) note(pod *corev1.Pod) {
	if p.taken == nil {
		p.taken = map[string]bool{}
	}
	if pod.Status.PodIP != "" {
		p.taken[pod.Status.PodIP] = true
	}
}

func (p *podIPs) assign(objects []runtime.Object) {
	for _, o := range objects {
		pod, ok := o.(*corev1.Pod)
		if !ok {
			continue
		}
		if pod.Status.PodIP == "" {
			for {
				ip := fmt.Sprintf("10.244.%d.%d", p.next/250, p.next%250+1)
				p.next++
				if !p.taken[ip] {
					pod.Status.PodIP = ip
					break
				}
			}
		}
		if len(pod.Status.PodIPs) == 0 {
			pod.Status.PodIPs = []corev1.PodIP{{IP: pod.Status.PodIP}}
		}
		if pod.Status.Phase == "" {
			pod.Status.Phase = corev1.PodRunning
		}
		if pod.Status.HostIP == "" {
			pod.Status.HostIP = "10.0.0.1"
		}
		ready := false
		for _, c := range pod.Status.Conditions {
			if c.Type == corev1.PodReady {
				ready = true
			}
		}
		if !ready && pod.Status.Phase == corev1.PodRunning {
			pod.Status.Conditions = append(pod.Status.Conditions,
				corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue})
		}
	}
}
