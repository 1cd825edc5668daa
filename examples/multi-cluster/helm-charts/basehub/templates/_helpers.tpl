{{/*
Resource names follow zero-to-jupyterhub (hub, proxy, proxy-public, proxy-api): every hub
lives in its own namespace, so fixed names never clash.
*/}}

{{- define "basehub.chart" -}}
{{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. Call with (dict "root" $ "component" "hub"). */}}
{{- define "basehub.labels" -}}
{{ include "basehub.selectorLabels" . }}
helm.sh/chart: {{ include "basehub.chart" .root }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: jupyterhub
{{- end }}

{{/* The stable subset used in Deployment selectors (never change these). */}}
{{- define "basehub.selectorLabels" -}}
app.kubernetes.io/name: jupyterhub
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "basehub.image" -}}
{{ .name }}:{{ .tag | toString }}
{{- end }}

{{- define "basehub.proxyToken" -}}
{{- required "jupyterhub.proxy.secretToken is required: set it in the hub's values files (e.g. `openssl rand -hex 32`)" .Values.jupyterhub.proxy.secretToken | toString -}}
{{- end }}

{{/* hub.cookieSecret, or a key derived from the proxy token so renders stay deterministic. */}}
{{- define "basehub.cookieSecret" -}}
{{- $hub := .Values.jupyterhub.hub -}}
{{- if $hub.cookieSecret -}}
{{- $hub.cookieSecret | toString -}}
{{- else -}}
{{- printf "cookie-secret:%s" (include "basehub.proxyToken" .) | sha256sum -}}
{{- end -}}
{{- end }}
