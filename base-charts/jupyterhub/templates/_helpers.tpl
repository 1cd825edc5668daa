{{/* vim: set filetype=mustache: */}}

{{/*
  Resource name prefix, z2jh style.

  - fullnameOverride is a string (the default ""): use it as the prefix, so the
    default resource names are `hub`, `proxy`, `proxy-api`, `proxy-public`.
  - fullnameOverride is null: "<release>" or "<release>-<chart name>".
*/}}
{{- define "jupyterhub.fullname" -}}
{{- if kindIs "string" .Values.fullnameOverride -}}
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

{{/* "<fullname>-" or "" when the prefix is empty. */}}
{{- define "jupyterhub.fullname.dash" -}}
{{- $fullname := include "jupyterhub.fullname" . -}}
{{- if $fullname -}}{{ $fullname }}-{{- end -}}
{{- end -}}

{{/* Resource names (kept stable: selectors and Service DNS names rely on them) */}}
{{- define "jupyterhub.hub.fullname" -}}{{ include "jupyterhub.fullname.dash" . }}hub{{- end -}}
{{- define "jupyterhub.hub-db.fullname" -}}{{ include "jupyterhub.fullname.dash" . }}hub-db-dir{{- end -}}
{{- define "jupyterhub.hub-config.fullname" -}}{{ include "jupyterhub.fullname.dash" . }}hub-config{{- end -}}
{{- define "jupyterhub.hub-secret.fullname" -}}{{ include "jupyterhub.fullname.dash" . }}hub-secret{{- end -}}
{{- define "jupyterhub.hub-serviceaccount.fullname" -}}{{ include "jupyterhub.fullname.dash" . }}hub{{- end -}}
{{- define "jupyterhub.proxy.fullname" -}}{{ include "jupyterhub.fullname.dash" . }}proxy{{- end -}}
{{- define "jupyterhub.proxy-api.fullname" -}}{{ include "jupyterhub.fullname.dash" . }}proxy-api{{- end -}}
{{- define "jupyterhub.proxy-public.fullname" -}}{{ include "jupyterhub.fullname.dash" . }}proxy-public{{- end -}}
{{- define "jupyterhub.ingress.fullname" -}}{{ include "jupyterhub.fullname.dash" . }}jupyterhub{{- end -}}

{{/* Chart label value: name-version */}}
{{- define "jupyterhub.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
  Selector labels. Include with a dict carrying the root context and the
  component:  include "jupyterhub.selectorLabels" (dict "root" . "component" "hub")
  These must never change for an existing release (Deployment selectors are
  immutable).
*/}}
{{- define "jupyterhub.selectorLabels" -}}
app.kubernetes.io/name: {{ default .root.Chart.Name .root.Values.nameOverride | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
component: {{ .component }}
{{- end -}}

{{/* Full label set: selector labels + informational labels. */}}
{{- define "jupyterhub.labels" -}}
{{ include "jupyterhub.selectorLabels" . }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: jupyterhub
helm.sh/chart: {{ include "jupyterhub.chart" .root }}
{{- end -}}

{{/* Labels put on user pods by KubeSpawner (JSON object, used in the hub config). */}}
{{- define "jupyterhub.singleuser.labels" -}}
{{- $labels := dict
      "app.kubernetes.io/name" (default .Chart.Name .Values.nameOverride)
      "app.kubernetes.io/instance" .Release.Name
      "app.kubernetes.io/managed-by" "kubespawner"
      "app.kubernetes.io/part-of" "jupyterhub"
-}}
{{- $labels = merge $labels (deepCopy (.Values.singleuser.extraLabels | default dict)) -}}
{{- toJson $labels -}}
{{- end -}}

{{/* The single-user image reference, "name:tag". */}}
{{- define "jupyterhub.singleuser.image" -}}
{{- $name := required "singleuser.image.name must be set" .Values.singleuser.image.name -}}
{{- $tag := required "singleuser.image.tag must be set (the deploy tool sets it to the git short sha of the user image)" .Values.singleuser.image.tag | toString -}}
{{- printf "%s:%s" $name $tag -}}
{{- end -}}

{{/* Generic "name:tag" image reference for a dict with name and tag. */}}
{{- define "jupyterhub.image" -}}
{{- printf "%s:%s" .name (toString .tag) -}}
{{- end -}}

{{/* Required secrets, with messages that say where to put them. */}}
{{- define "jupyterhub.proxy.secretToken" -}}
{{- required "proxy.secretToken is required: set jupyterhub.proxy.secretToken in secrets/<hub>.yaml (generate one with `openssl rand -hex 32`) and pass it with -f" .Values.proxy.secretToken -}}
{{- end -}}

{{- define "jupyterhub.hub.cookieSecret" -}}
{{- required "hub.cookieSecret is required: set jupyterhub.hub.cookieSecret in secrets/<hub>.yaml (generate one with `openssl rand -hex 32`) and pass it with -f" .Values.hub.cookieSecret -}}
{{- end -}}

{{/*
  A python expression evaluating to the given value, via JSON. Go's %q quoting
  (sprig `quote`) only produces escapes that python string literals accept.
*/}}
{{- define "jupyterhub.pyjson" -}}
json.loads({{ toJson . | quote }})
{{- end -}}
