{{- define "binderhub.labels" -}}
{{ include "binderhub.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "binderhub.selectorLabels" -}}
app.kubernetes.io/name: binderhub
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: binder
{{- end }}
