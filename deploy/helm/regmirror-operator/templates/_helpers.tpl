{{- define "regmirror-operator.labels" -}}
app.kubernetes.io/name: regmirror-operator
app.kubernetes.io/part-of: regmirror
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "regmirror-operator.selectorLabels" -}}
app.kubernetes.io/name: regmirror-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "regmirror-operator.image" -}}
{{ printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end -}}

{{- define "regmirror-operator.cacheImage" -}}
{{ printf "%s:%s" .Values.cacheImage.repository (default .Chart.AppVersion .Values.cacheImage.tag) }}
{{- end -}}
