// deploy/kubernetes, checked offline: every object against the Kubernetes schemas (npm
// kubernetes-models: its validators check types, required fields and formats; its TypeScript types,
// compiled here with excess-property checks, catch unknown fields, as kubeconform's strict mode
// does), the ServiceMonitor against the Prometheus operator's CRD schema
// (@kubernetes-models/prometheus-operator), and the contracts between the objects and the server:
// selectors, probe paths and ports, the drain timing, CPU vs threads, environment variable names,
// and the autoscaling metric's name (rendered by src/metrics.ts). Also the Dockerfile's contract.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// Two TypeScript compiles (about 10 s each on an idle 2-core machine).
t.setTimeout(300_000);
const dir = join(root, 'deploy', 'kubernetes');
const { OPTIONS } = await import(join(root, 'dist', 'config.js'));
const { defaultIntraOpThreads } = await import(join(root, 'dist', 'cpu_quota.js'));
const { Metrics } = await import(join(root, 'dist', 'metrics.js'));

function readYaml(path) {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((doc) => {
      if (doc.errors.length) throw new Error(`${path}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS();
    })
    .filter((o) => o != null);
}

const kustomization = readYaml(join(dir, 'kustomization.yaml'))[0];
/** [{ file, obj }] for every object kustomize applies. */
const objects = kustomization.resources.flatMap((file) => readYaml(join(dir, file)).map((obj) => ({ file, obj })));
const byKind = (kind) => {
  const found = objects.filter((o) => o.obj.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0].obj;
};

/** The kubernetes-models module (import path) and class of an apiVersion/kind. */
function modelModule(apiVersion, kind) {
  if (apiVersion === 'monitoring.coreos.com/v1') return `@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/${kind}`;
  return `kubernetes-models/${apiVersion}/${kind}`; // core "v1" and "group/version" both map to a path
}

t.test('kustomization lists every manifest, and only existing files', async (t) => {
  t.equal(kustomization.kind, 'Kustomization');
  for (const f of kustomization.resources) t.ok(existsSync(join(dir, f)), `${f} exists`);
  const yamls = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
  const notApplied = yamls.filter((f) => !kustomization.resources.includes(f));
  t.same(notApplied, ['prometheus-adapter-rules.yaml'], "every manifest is applied except the adapter's Helm values");
  t.same(
    kustomization.images.map((i) => i.name),
    ['bert-serve'],
  );
  t.equal(byKind('Deployment').spec.template.spec.containers[0].image, 'bert-serve', 'the image kustomize rewrites');
});

t.test('every object validates against its schema (types, required fields, formats)', async (t) => {
  for (const { file, obj } of objects) {
    const mod = await import(modelModule(obj.apiVersion, obj.kind));
    const Model = mod[obj.kind] ?? mod.default;
    t.ok(Model, `${file}: a model for ${obj.apiVersion} ${obj.kind}`);
    t.doesNotThrow(() => new Model(obj).validate(), `${file}: ${obj.kind} ${obj.metadata?.name}`);
  }
  // The validators do catch mistakes (so a pass above means something).
  const { Deployment } = await import('kubernetes-models/apps/v1/Deployment');
  const bad = structuredClone(byKind('Deployment'));
  bad.spec.replicas = 'two';
  t.throws(() => new Deployment(bad).validate(), /replicas must be integer/);
});

t.test('no unknown fields anywhere (TypeScript excess-property check against the schema types)', async (t) => {
  const work = join(root, 'node_modules', '.cache', 'bert-serve-deploy-check');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const compile = (objs) => {
    const lines = objs.map(({ obj }, i) => {
      const mod = modelModule(obj.apiVersion, obj.kind);
      return `import type { I${obj.kind} as T${i} } from '${mod}';\nexport const o${i}: T${i} = ${JSON.stringify(obj)};`;
    });
    writeFileSync(join(work, 'check.ts'), lines.join('\n') + '\n');
    const res = spawnSync(
      process.execPath,
      [
        join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
        '--noEmit',
        '--strict',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--skipLibCheck',
        '--types',
        'node',
        join(work, 'check.ts'),
      ],
      { encoding: 'utf8', cwd: root },
    );
    return res.status === 0 ? '' : res.stdout + res.stderr;
  };
  t.equal(compile(objects), '', 'every manifest type-checks');
  // A misspelt field is caught, nested as deep as a container.
  const typo = structuredClone(byKind('Deployment'));
  typo.spec.template.spec.containers[0].readinesProbe = typo.spec.template.spec.containers[0].readinessProbe;
  t.match(compile([{ obj: typo }]), /'"?readinesProbe"?' does not exist/);
});

const deployment = byKind('Deployment');
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));

t.test('selectors: Deployment, Service, PDB, ServiceMonitor and HPA point at the same pods', async (t) => {
  const labels = deployment.spec.template.metadata.labels;
  const matches = (sel) => Object.entries(sel).every(([k, v]) => labels[k] === v);
  t.ok(matches(deployment.spec.selector.matchLabels), 'Deployment selector matches its template');
  const service = byKind('Service');
  t.ok(matches(service.spec.selector), 'Service selects the pods');
  t.ok(matches(byKind('PodDisruptionBudget').spec.selector.matchLabels), 'PDB selects the pods');
  const sm = byKind('ServiceMonitor');
  t.ok(
    Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => service.metadata.labels[k] === v),
    'ServiceMonitor selects the Service',
  );
  const portNames = service.spec.ports.map((p) => p.name);
  for (const ep of sm.spec.endpoints) t.ok(portNames.includes(ep.port), `ServiceMonitor port ${ep.port} is a Service port`);
  t.equal(sm.spec.endpoints[0].path, '/metrics');
  const hpa = byKind('HorizontalPodAutoscaler');
  t.match(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
  t.ok(byKind('PodDisruptionBudget').spec.maxUnavailable < hpa.spec.minReplicas, 'the PDB leaves pods serving');
});

t.test('probes: startup and readiness on /ready, liveness on /health, on the container port', async (t) => {
  const ports = Object.fromEntries(container.ports.map((p) => [p.name, p.containerPort]));
  t.equal(ports.http, Number(env.BERT_SERVE_PORT), 'the container port is the one the server listens on');
  t.equal(container.startupProbe.httpGet.path, '/ready');
  t.equal(container.readinessProbe.httpGet.path, '/ready');
  t.equal(container.livenessProbe.httpGet.path, '/health');
  for (const p of ['startupProbe', 'readinessProbe', 'livenessProbe'])
    t.ok(container[p].httpGet.port in ports, `${p} uses a named container port`);
  t.ok(container.startupProbe.periodSeconds * container.startupProbe.failureThreshold >= 120, 'at least 2 minutes to load and warm up');
});

t.test("termination: grace period > preStop sleep + the server's drain timeout", async (t) => {
  const cmd = container.lifecycle.preStop.exec.command;
  t.equal(cmd[0], 'sleep');
  const preStop = Number(cmd[1]);
  t.ok(preStop >= 5, 'long enough for endpoints to be removed');
  const drainSpec = OPTIONS.find((o) => o.key === 'drainTimeoutMs');
  const drainMs = Number(env[drainSpec.env[0]] ?? drainSpec.default);
  t.ok(
    pod.terminationGracePeriodSeconds > preStop + drainMs / 1000,
    `${pod.terminationGracePeriodSeconds} s > ${preStop} s + ${drainMs / 1000} s`,
  );
});

t.test('resources: CPU limit = request = the threads the engine runs by default', async (t) => {
  const { requests, limits } = container.resources;
  t.equal(String(limits.cpu), String(requests.cpu), 'Guaranteed CPU: requests.cpu = limits.cpu');
  t.equal(String(limits.memory), String(requests.memory), 'memory request = limit');
  const cpus = Number(limits.cpu);
  t.ok(Number.isInteger(cpus), 'whole CPUs (a fractional quota throttles the last thread)');
  const workers = Number(env.BERT_SERVE_WORKERS ?? 1);
  const threads = Number(env.BERT_SERVE_INTRA_OP_THREADS) || defaultIntraOpThreads(workers, { cpus, schedulable: 64 });
  t.equal(workers * threads, cpus, `${workers} worker(s) x ${threads} thread(s) = ${cpus} CPUs`);
});

t.test('environment variables are ones the server reads', async (t) => {
  const known = new Set(OPTIONS.flatMap((o) => o.env));
  for (const name of Object.keys(env)) t.ok(known.has(name), name);
  t.ok(
    env.BERT_SERVE_MODEL.startsWith(container.volumeMounts.find((m) => m.name === 'model').mountPath + '/'),
    'the model is on the volume',
  );
});

t.test("autoscaling: the HPA's metric is one the server exports, served by the adapter rule", async (t) => {
  const hpa = byKind('HorizontalPodAutoscaler');
  const metric = hpa.spec.metrics[0].pods.metric.name;
  const stats = {
    queueDepth: 3,
    pending: 3,
    inFlight: 0,
    meanBatchSize: 1,
    batchesRun: 0,
    requestsRun: 0,
    droppedCancelled: 0,
    droppedExpired: 0,
    realTokens: 0,
    paddedTokens: 0,
    runningBatchMs: 0,
    batchSizeHistogram: { bounds: [1, 2], counts: [0, 0, 0] },
    batchTokensHistogram: { bounds: [16, 64], counts: [0, 0, 0] },
  };
  const metrics = new Metrics(
    { stats: () => stats, ready: () => true, draining: () => false, inFlight: () => 0, answerBytes: () => 0, waiting: () => 0 },
    { defaultMetrics: false },
  );
  const text = await metrics.render();
  t.match(text, new RegExp(`^# TYPE ${metric} gauge$`, 'm'), `${metric} is exported as a gauge`);
  t.match(text, new RegExp(`^${metric} 3$`, 'm'), "with the engine's queue depth");
  const adapter = readYaml(join(dir, 'prometheus-adapter-rules.yaml'))[0];
  const rule = adapter.rules.custom.find((r) => r.name.as === metric);
  t.ok(rule, 'an adapter rule serves it under that name');
  t.match(rule.seriesQuery, new RegExp(`^${metric}\\{`));
  t.match(rule.metricsQuery, /<<\.Series>>\{<<\.LabelMatchers>>\}/);
  t.match(rule.metricsQuery, /by \(<<\.GroupBy>>\)/);
  t.same(Object.keys(rule.resources.overrides).sort(), ['namespace', 'pod']);
});

t.test('Dockerfile: base image argument, non-root user, init, healthcheck, port', async (t) => {
  const df = readFileSync(join(root, 'Dockerfile'), 'utf8');
  t.match(df, /^ARG BASE_IMAGE=debian:bookworm-slim$/m);
  const froms = [...df.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
  t.ok(froms.length >= 2 && froms.every((f) => f === '${BASE_IMAGE}' || /^(node|build)$/.test(f)), `stages start from the base: ${froms}`);
  const lastStage = df.slice(df.lastIndexOf('\nFROM '));
  t.match(lastStage, /^USER (?!root|0\b)\S+/m, 'runtime stage runs as a non-root user');
  t.match(lastStage, /^ENTRYPOINT \["\/usr\/bin\/tini", "--"/m, 'tini is PID 1');
  t.match(lastStage, /^HEALTHCHECK .*\n?.*\/health/m, 'HEALTHCHECK on /health');
  t.notMatch(lastStage, /-dev\b|g\+\+|cmake/, 'no compilers or -dev packages in the runtime stage');
  t.match(lastStage, new RegExp(`^EXPOSE ${env.BERT_SERVE_PORT}$`, 'm'));
  t.equal(pod.securityContext.runAsUser, 10001);
  t.equal(pod.securityContext.runAsGroup, 10001);
  t.match(df, /useradd --uid 10001 --gid 10001/, "the Deployment runs as the image's user and group");
});

// deploy/kserve: bert-serve as a KServe custom runtime (Open Inference Protocol v2). Checked against
// KServe's own CRD schemas (test/fixtures/kserve: the openAPIV3Schema of each CRD, as KServe
// publishes it, README.md there), with unknown fields refused as the API server's strict field
// validation does, and the contracts with the server: the arguments parse, the port, the probes.
const kserveDir = join(root, 'deploy', 'kserve');
const kserve = readdirSync(kserveDir)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((file) => readYaml(join(kserveDir, file)).map((obj) => ({ file, obj })));
const kserveKind = (kind) => kserve.find((o) => o.obj.kind === kind).obj;
const crdSchemas = JSON.parse(readFileSync(join(root, 'test', 'fixtures', 'kserve', 'crd-schemas.json'), 'utf8'));

/** The fields of `value` that `schema` does not declare (paths), as strict field validation reports them. */
function unknownFields(value, schema, path = '') {
  if (Array.isArray(value)) return value.flatMap((v, i) => unknownFields(v, schema.items ?? {}, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  if (schema['x-kubernetes-preserve-unknown-fields'] || !schema.properties) return [];
  return Object.entries(value).flatMap(([k, v]) =>
    schema.properties[k] ? unknownFields(v, schema.properties[k], `${path}.${k}`) : schema.additionalProperties ? [] : [`${path}.${k}`],
  );
}

t.test('deploy/kserve: a ClusterServingRuntime and an InferenceService valid against KServe’s CRD schemas', async (t) => {
  const { default: Ajv } = await import('ajv');
  // Kubernetes' own keywords (x-kubernetes-*) and formats (int32, int-or-string) are not JSON Schema's.
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  t.same(kserve.map((o) => o.obj.kind).sort(), ['ClusterServingRuntime', 'InferenceService']);
  for (const { file, obj } of kserve) {
    const schema = crdSchemas[`${obj.apiVersion} ${obj.kind}`];
    t.ok(schema, `${file}: a schema for ${obj.apiVersion} ${obj.kind}`);
    const check = ajv.compile(schema);
    t.ok(check(obj), `${file}: ${JSON.stringify(check.errors)}`);
    t.same(unknownFields(obj, schema), [], `${file}: no unknown fields`);
  }
  // The checks do catch mistakes.
  const bad = structuredClone(kserveKind('InferenceService'));
  bad.spec.predictor.model.storageURI = bad.spec.predictor.model.storageUri;
  t.same(unknownFields(bad, crdSchemas['serving.kserve.io/v1beta1 InferenceService']), ['.spec.predictor.model.storageURI']);
  bad.spec.predictor.model.modelFormat = 'bert-serve';
  t.notOk(ajv.compile(crdSchemas['serving.kserve.io/v1beta1 InferenceService'])(bad), 'a wrong type fails');
});

t.test('deploy/kserve: the runtime serves the InferenceService under its name, over the protocol, on its port', async (t) => {
  const { parseCli } = await import(join(root, 'dist', 'config.js'));
  const { ROUTES } = await import(join(root, 'dist', 'server', 'routes', 'index.js'));
  const runtime = kserveKind('ClusterServingRuntime');
  const isvc = kserveKind('InferenceService');
  const { model } = isvc.spec.predictor;
  t.equal(model.runtime, runtime.metadata.name);
  t.equal(model.protocolVersion, 'v2');
  t.ok(runtime.spec.protocolVersions.includes('v2'));
  t.ok(
    runtime.spec.supportedModelFormats.some((f) => f.name === model.modelFormat.name),
    'the runtime supports the model format',
  );
  const [c] = runtime.spec.containers;
  t.equal(c.name, 'kserve-container', 'the container KServe fills in');
  // KServe replaces {{.Name}} with the InferenceService's name; the storage initializer mounts the model at /mnt/models.
  const args = c.args.map((a) => a.replaceAll('{{.Name}}', isvc.metadata.name));
  const envs = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
  const known = new Set(OPTIONS.flatMap((o) => o.env));
  for (const name of Object.keys(envs)) t.ok(known.has(name), `${name} is read by the server`);
  const parsed = parseCli(args, envs, () => ({ cpus: 2, schedulable: 2 }));
  t.equal(parsed.action, 'serve');
  t.same(parsed.config.models, [`${isvc.metadata.name}=/mnt/models`], 'served as /v2/models/<InferenceService name>');
  t.equal(parsed.config.host, '0.0.0.0');
  t.equal(parsed.config.port, c.ports[0].containerPort, 'the server listens on the container port');
  const open = new Set(ROUTES.filter((r) => r.open && r.method === 'GET').map((r) => r.path));
  for (const probe of ['readinessProbe', 'livenessProbe']) {
    t.ok(open.has(c[probe].httpGet.path), `${probe} ${c[probe].httpGet.path} is an open route`);
    t.equal(c[probe].httpGet.port, c.ports[0].containerPort);
  }
  t.equal(c.readinessProbe.httpGet.path, '/v2/health/ready');
  t.equal(String(c.resources.limits.cpu), String(c.resources.requests.cpu), 'Guaranteed CPU, as the Deployment');
});
