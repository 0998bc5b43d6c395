"""The lab's stand-in for the Spiderpool chart, written at run time where the real chart is absent.

A fresh clone has no ../shared/upstream/charts/spiderpool-1.2.2, so the demo cannot install the
real chart there. This small chart is the lab's own (not a copy of anything upstream): it takes
the values the spiderpool role sets, renders the objects the role and the emulator's simulations
look at (the spiderpool-conf ConfigMap, the spiderpool-controller Deployment and spiderpool-agent
DaemonSet named as the real chart names them, a post-install init Job whose environment the
spiderpool-hooks simulation reads to create the default SpiderCoordinator, a pre-delete cleanup
Job) and nothing that would run on a cluster: its images are placeholders. The CRDs come from
the emulator's preloaded set. Its version says what it is: 1.2.2-lab.
"""
import pathlib

NAME = 'spiderpool'
VERSION = '1.2.2-lab'
DESCRIPTION = "vmnet.kubevirt lab's stand-in for the Spiderpool chart (not Spiderpool; for the embedded lab only)"

CHART_YAML = '''\
apiVersion: v2
name: %s
version: %s
appVersion: lab-stand-in
description: "%s"
type: application
''' % (NAME, VERSION, DESCRIPTION)

VALUES_YAML = '''\
# The keys the vmnet.kubevirt.spiderpool role sets, with the real chart's names and defaults.
global:
  imageRegistryOverride: ""
ipam:
  enableIPv4: true
  enableIPv6: true
  enableKubevirtStaticIP: true
multus:
  multusCNI:
    install: true
    defaultCniCRName: ""
plugins:
  installOvsCNI: true
coordinator:
  name: default
  mode: auto
  podCIDRType: auto
  tunePodRoutes: true
spiderpoolController:
  name: spiderpool-controller
  replicas: 1
  cleanup:
    enable: true
spiderpoolAgent:
  name: spiderpool-agent
'''

HELPERS = '''\
{{- define "standin.image" -}}
{{- if .Values.global.imageRegistryOverride -}}{{ .Values.global.imageRegistryOverride }}/{{- end -}}lab/spiderpool-standin:{{ .Chart.Version }}
{{- end -}}
{{- define "standin.labels" -}}
app.kubernetes.io/name: spiderpool
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
'''

TEMPLATES = {
    'configmap.yaml': '''\
apiVersion: v1
kind: ConfigMap
metadata:
  name: spiderpool-conf
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "standin.labels" . | nindent 4 }}
data:
  clusterNetwork: {{ .Values.multus.multusCNI.defaultCniCRName | quote }}
  conf.yml: |
    enableIPv4: {{ .Values.ipam.enableIPv4 }}
    enableIPv6: {{ .Values.ipam.enableIPv6 }}
    enableKubevirtStaticIP: {{ .Values.ipam.enableKubevirtStaticIP }}
    installOvsCNI: {{ .Values.plugins.installOvsCNI }}
    installMultus: {{ .Values.multus.multusCNI.install }}
''',
    'workloads.yaml': '''\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .Values.spiderpoolController.name }}
  namespace: {{ .Release.Namespace }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Values.spiderpoolController.name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "standin.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.spiderpoolController.replicas }}
  selector:
    matchLabels:
      app.kubernetes.io/component: {{ .Values.spiderpoolController.name }}
  template:
    metadata:
      labels:
        app.kubernetes.io/component: {{ .Values.spiderpoolController.name }}
    spec:
      serviceAccountName: {{ .Values.spiderpoolController.name }}
      containers:
        - name: spiderpool-controller
          image: {{ include "standin.image" . | quote }}
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {{ .Values.spiderpoolAgent.name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "standin.labels" . | nindent 4 }}
spec:
  selector:
    matchLabels:
      app.kubernetes.io/component: {{ .Values.spiderpoolAgent.name }}
  template:
    metadata:
      labels:
        app.kubernetes.io/component: {{ .Values.spiderpoolAgent.name }}
    spec:
      hostNetwork: true
      initContainers:
        - name: install-plugins
          image: {{ include "standin.image" . | quote }}
          env:
            - name: INSTALL_OVS_PLUGIN
              value: {{ .Values.plugins.installOvsCNI | quote }}
      containers:
        - name: spiderpool-agent
          image: {{ include "standin.image" . | quote }}
        {{- if .Values.multus.multusCNI.install }}
        - name: multus-cni
          image: {{ include "standin.image" . | quote }}
        {{- end }}
''',
    'hooks.yaml': '''\
apiVersion: batch/v1
kind: Job
metadata:
  name: spiderpool-init
  namespace: {{ .Release.Namespace }}
  annotations:
    "helm.sh/hook": post-install
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: spiderpool-init
          image: {{ include "standin.image" . | quote }}
          env:
            - name: SPIDERPOOL_INIT_DEFAULT_COORDINATOR_NAME
              value: {{ .Values.coordinator.name | quote }}
            - name: SPIDERPOOL_INIT_DEFAULT_COORDINATOR_MODE
              value: {{ .Values.coordinator.mode | quote }}
            - name: SPIDERPOOL_INIT_DEFAULT_COORDINATOR_POD_CIDR_TYPE
              value: {{ .Values.coordinator.podCIDRType | quote }}
            - name: SPIDERPOOL_INIT_DEFAULT_COORDINATOR_TUNE_POD_ROUTES
              value: {{ .Values.coordinator.tunePodRoutes | quote }}
{{- if .Values.spiderpoolController.cleanup.enable }}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Values.spiderpoolController.name }}-hook-pre-delete
  namespace: {{ .Release.Namespace }}
  annotations:
    "helm.sh/hook": pre-delete
    "helm.sh/hook-delete-policy": before-hook-creation,hook-succeeded
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: pre-delete
          image: {{ include "standin.image" . | quote }}
          command: [/usr/bin/spiderpool-controller, clean, --validate, {{ .Values.spiderpoolController.name }},
                    --mutating, {{ .Values.spiderpoolController.name }}]
          env:
            - name: SPIDERPOOL_INIT_NAME
              value: spiderpool-init
{{- end }}
''',
}


def write_chart(directory):
    """Write the stand-in chart into *directory*/spiderpool; returns that chart directory."""
    chart = pathlib.Path(directory) / NAME
    (chart / 'templates').mkdir(parents=True, exist_ok=True)
    (chart / 'Chart.yaml').write_text(CHART_YAML, encoding='utf-8')
    (chart / 'values.yaml').write_text(VALUES_YAML, encoding='utf-8')
    (chart / 'templates' / '_helpers.tpl').write_text(HELPERS, encoding='utf-8')
    for name, text in TEMPLATES.items():
        (chart / 'templates' / name).write_text(text, encoding='utf-8')
    return chart
