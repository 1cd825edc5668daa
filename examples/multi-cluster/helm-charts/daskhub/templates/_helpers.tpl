{{- define "daskhub.labels" -}}
{{ include "daskhub.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: daskhub
{{- end }}

{{- define "daskhub.selectorLabels" -}}
app.kubernetes.io/name: dask-gateway
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
