{{/* Labels every object carries. */}}
{{- define "governor.labels" -}}
app.kubernetes.io/part-of: governor
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/*
"true" when a module of this kind is on: an entry of .Values.modules with that kind (or that name, when
it has no kind) says enable: true, as the BFF reads the SlimeBoot. Call with (list $ "limiter").
*/}}
{{- define "governor.enabled" -}}
{{- $root := index . 0 -}}
{{- $kind := index . 1 -}}
{{- $on := false -}}
{{- range $root.Values.modules -}}
{{- if and (eq (default .name .kind) $kind) .enable -}}
{{- $on = true -}}
{{- end -}}
{{- end -}}
{{- if $on }}true{{ end -}}
{{- end }}

{{/* An image reference: (list $ "bff"). */}}
{{- define "governor.image" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $repo := printf "%s/%s" $root.Values.image.repository $name -}}
{{- if $root.Values.image.registry -}}
{{- $repo = printf "%s/%s" (trimSuffix "/" $root.Values.image.registry) $repo -}}
{{- end -}}
{{- printf "%s:%s" $repo (default $root.Chart.AppVersion $root.Values.image.tag) -}}
{{- end }}

{{/*
"true" when lazyload is on and learns from Envoy's access logs (general.metricSourceType: accesslog):
the BFF then serves Envoy's access-log service on 8082 (GOVERNOR_ACCESSLOG_PORT).
*/}}
{{- define "governor.accesslog" -}}
{{- $on := false -}}
{{- range .Values.modules -}}
{{- if and (eq (default .name .kind) "lazyload") .enable (eq (dig "metricSourceType" "" (default dict .general)) "accesslog") -}}
{{- $on = true -}}
{{- end -}}
{{- end -}}
{{- if $on }}true{{ end -}}
{{- end }}
