{{/* Chart name, release-qualified names and labels. */}}
{{- define "ivl.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Kept short: a pipeline StatefulSet is "<fullname>-pipeline-<r>" and its pods add "-<stage>". */}}
{{- define "ivl.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 36 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 36 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 36 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ivl.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ivl.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ivl.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ivl.labels" -}}
helm.sh/chart: {{ include "ivl.chart" . }}
{{ include "ivl.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ivl-cluster
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Component selector labels: (dict "ctx" $ "component" "gateway") */}}
{{- define "ivl.componentSelector" -}}
{{ include "ivl.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Pipeline r: StatefulSet and headless Service name. (dict "ctx" $ "r" 0) */}}
{{- define "ivl.pipelineName" -}}
{{- printf "%s-pipeline-%d" (include "ivl.fullname" .ctx) (int .r) -}}
{{- end -}}

{{/* Selector labels of pipeline r's pods. */}}
{{- define "ivl.pipelineSelector" -}}
{{ include "ivl.componentSelector" (dict "ctx" .ctx "component" "pipeline") }}
ivl-cluster.io/pipeline: {{ include "ivl.pipelineName" . | quote }}
{{- end -}}

{{- define "ivl.image" -}}
{{- $tag := default .ctx.Chart.AppVersion .image.tag -}}
{{- if .image.digest -}}
{{- printf "%s@%s" .image.repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" .image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "ivl.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ivl.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The plan argument: card and balanced get the stage count appended; anything else (ranges:..., JSON) as given. */}}
{{- define "ivl.planSpec" -}}
{{- $p := .Values.pipeline.plan -}}
{{- if or (eq $p "card") (eq $p "balanced") -}}
{{- printf "%s:%d" $p (int .Values.pipeline.gpusPerPipeline) -}}
{{- else -}}
{{- $p -}}
{{- end -}}
{{- end -}}

{{/* Stable DNS names of pipeline r's stages through its headless Service, in stage order. */}}
{{- define "ivl.peers" -}}
{{- $name := include "ivl.pipelineName" . -}}
{{- $peers := list -}}
{{- range $k := until (int .ctx.Values.pipeline.gpusPerPipeline) -}}
{{- $peers = append $peers (printf "%s-%d.%s.%s.svc.%s:%d" $name $k $name $.ctx.Release.Namespace $.ctx.Values.clusterDomain (int $.ctx.Values.pipeline.stagePort)) -}}
{{- end -}}
{{- join "," $peers -}}
{{- end -}}

{{- define "ivl.bundledRedis" -}}
{{- if not .Values.redis.external.url -}}{{- if not .Values.redis.external.existingSecret -}}true{{- end -}}{{- end -}}
{{- end -}}

{{- define "ivl.redisHost" -}}
{{- printf "%s-redis.%s.svc.%s" (include "ivl.fullname" .) .Release.Namespace .Values.clusterDomain -}}
{{- end -}}

{{/*
Environment giving IVL_REDIS_URL (read by the gateway; passed to workers as --redis $(IVL_REDIS_URL)): an external
URL (value or Secret), or the bundled Redis (with its password from a Secret when auth is on).
*/}}
{{- define "ivl.redisEnv" -}}
{{- if .Values.redis.external.existingSecret }}
- name: IVL_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.external.existingSecret }}
      key: {{ .Values.redis.external.existingSecretKey }}
{{- else if .Values.redis.external.url }}
- name: IVL_REDIS_URL
  value: {{ .Values.redis.external.url | quote }}
{{- else if .Values.redis.auth.existingSecret }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.auth.existingSecret }}
      key: {{ .Values.redis.auth.existingSecretPasswordKey }}
- name: IVL_REDIS_URL
  value: {{ printf "redis://:$(REDIS_PASSWORD)@%s:6379" (include "ivl.redisHost" .) | quote }}
{{- else }}
- name: IVL_REDIS_URL
  value: {{ printf "redis://%s:6379" (include "ivl.redisHost" .) | quote }}
{{- end }}
{{- end -}}

{{/* The BullMQ wait list of the generate queue (what KEDA's redis trigger measures). */}}
{{- define "ivl.waitList" -}}
{{- printf "%s:ivl-generate:wait" (default "bull" .Values.queue.prefix) -}}
{{- end -}}

{{/* With KEDA and no always-on pipeline the gateway must accept and queue requests while no pipeline runs. */}}
{{- define "ivl.scaleFromZero" -}}
{{- if and .Values.keda.enabled (eq (int .Values.keda.minPipelines) 0) -}}true{{- end -}}
{{- end -}}

{{- define "ivl.modelVolume" -}}
- name: model
{{- if .Values.model.existingClaim }}
  persistentVolumeClaim:
    claimName: {{ .Values.model.existingClaim }}
    readOnly: true
{{- else if .Values.model.hostPath }}
  hostPath:
    path: {{ .Values.model.hostPath }}
    type: Directory
{{- else }}
{{- fail "set model.existingClaim (a PVC holding the published checkpoint) or model.hostPath" }}
{{- end }}
{{- end -}}

{{- define "ivl.modelMount" -}}
- name: model
  mountPath: {{ .Values.model.mountPath }}
  readOnly: true
{{- with .Values.model.subPath }}
  subPath: {{ . }}
{{- end }}
{{- end -}}
