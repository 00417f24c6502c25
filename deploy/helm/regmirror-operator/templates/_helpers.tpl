{{- define "regmirror-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-<name>, or the release name when it already contains the name. */}}
{{- define "regmirror-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "regmirror-operator.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Where the operator and every mirror's objects live. */}}
{{- define "regmirror-operator.namespace" -}}
{{- if .Values.namespace.create -}}
{{- required "namespace.name is required with namespace.create" .Values.namespace.name -}}
{{- else -}}
{{- .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{- define "regmirror-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "regmirror-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required with serviceAccount.create=false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "regmirror-operator.labels" -}}
app.kubernetes.io/name: {{ include "regmirror-operator.name" . }}
app.kubernetes.io/part-of: regmirror
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "regmirror-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "regmirror-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "regmirror-operator.image" -}}
{{ printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end -}}

{{- define "regmirror-operator.cacheImage" -}}
{{ printf "%s:%s" .Values.cacheImage.repository (default .Chart.AppVersion .Values.cacheImage.tag) }}
{{- end -}}
