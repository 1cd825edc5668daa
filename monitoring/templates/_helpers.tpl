{{/* Resource name prefix: fullnameOverride, else release[-chart]. */}}
{{- define "monitoring.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "monitoring.prometheus.fullname" -}}{{ include "monitoring.fullname" . | trunc 52 | trimSuffix "-" }}-prometheus{{- end -}}
{{- define "monitoring.grafana.fullname" -}}{{ include "monitoring.fullname" . | trunc 55 | trimSuffix "-" }}-grafana{{- end -}}

{{- define "monitoring.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* include "monitoring.selectorLabels" (dict "root" . "component" "prometheus") */}}
{{- define "monitoring.selectorLabels" -}}
app.kubernetes.io/name: {{ default .root.Chart.Name .root.Values.nameOverride | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
component: {{ .component }}
{{- end -}}

{{- define "monitoring.labels" -}}
{{ include "monitoring.selectorLabels" . }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: hub-ops-monitoring
helm.sh/chart: {{ include "monitoring.chart" .root }}
{{- end -}}

{{- define "monitoring.image" -}}
{{- printf "%s:%s" .name (toString .tag) -}}
{{- end -}}
