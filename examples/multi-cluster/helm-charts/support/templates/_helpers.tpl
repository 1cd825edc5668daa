{{/* Call with (dict "root" $ "component" "prometheus"). */}}
{{- define "support.labels" -}}
{{ include "support.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end }}

{{- define "support.selectorLabels" -}}
app.kubernetes.io/name: support
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Cluster-scoped objects carry the namespace too, so two releases never collide. */}}
{{- define "support.clusterScopedName" -}}
{{- printf "%s-%s-%s" .root.Release.Namespace .root.Release.Name .component | trunc 63 | trimSuffix "-" -}}
{{- end }}
