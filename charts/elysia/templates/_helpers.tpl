{{/* Chart name, truncated for DNS labels. */}}
{{- define "elysia.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped base name of every object. */}}
{{- define "elysia.fullname" -}}
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

{{- define "elysia.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "elysia.selectorLabels" -}}
app.kubernetes.io/name: {{ include "elysia.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "elysia.labels" -}}
helm.sh/chart: {{ include "elysia.chart" . }}
{{ include "elysia.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: elysia
{{- end -}}

{{- define "elysia.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "elysia.configName" -}}{{ include "elysia.fullname" . }}-config{{- end -}}

{{- define "elysia.secretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else -}}
{{- include "elysia.fullname" . }}-secrets
{{- end -}}
{{- end -}}

{{- define "elysia.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "elysia.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "elysia.operatorServiceAccountName" -}}{{ include "elysia.fullname" . }}-operator{{- end -}}

{{/* Name of one queue's worker Deployment (also the AnalyzerPool's target). */}}
{{- define "elysia.workerName" -}}
{{- printf "%s-worker-%s" (include "elysia.fullname" .root) .queue | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Settings for every container: ConfigMap + Secret as environment. */}}
{{- define "elysia.envFrom" -}}
- configMapRef:
    name: {{ include "elysia.configName" . }}
- secretRef:
    name: {{ include "elysia.secretName" . }}
{{- end -}}

{{/* The writable /tmp of a read-only root filesystem. */}}
{{- define "elysia.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end -}}
{{- define "elysia.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* Scheduling knobs shared by every Pod. */}}
{{- define "elysia.podScheduling" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end -}}

{{/* GA APIs where the cluster has them; the 1.20-era betas otherwise (same fields as used here). */}}
{{- define "elysia.hpaApiVersion" -}}
{{- if .Capabilities.APIVersions.Has "autoscaling/v2" -}}autoscaling/v2{{- else -}}autoscaling/v2beta2{{- end -}}
{{- end -}}
{{- define "elysia.pdbApiVersion" -}}
{{- if .Capabilities.APIVersions.Has "policy/v1" -}}policy/v1{{- else -}}policy/v1beta1{{- end -}}
{{- end -}}
