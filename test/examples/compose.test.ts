import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { SEARCH_ATTRIBUTE_TYPES } from '../../common/search-attributes';
import { ROOT } from './example-files';

/**
 * docker-compose.yml and the Dockerfile, checked without a Docker engine: the structure compose
 * needs to start the stack, and the wiring between the services.
 */
type Service = {
  image?: string;
  build?: string | { context: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  environment?: string[] | Record<string, string | number | boolean | null>;
  ports?: (string | { target: number; published?: string | number })[];
  volumes?: (string | { type: string; source?: string; target: string })[];
  healthcheck?: { test: string | string[] };
  restart?: string;
};

const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const services = Object.entries(compose.services);

function dependencies(service: Service): Record<string, string> {
  const deps = service.depends_on ?? [];
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((name) => [name, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([name, d]) => [name, d.condition ?? 'service_started']));
}

function environment(service: Service): Record<string, string | null> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => (entry.includes('=') ? [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)] : [entry, null])));
  }
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, value === null ? null : String(value)]));
}

/** Named volumes a service mounts (not bind mounts of host paths). */
function namedVolumes(service: Service): string[] {
  return (service.volumes ?? [])
    .map((v) => (typeof v === 'string' ? (v.includes(':') ? v.slice(0, v.indexOf(':')) : undefined) : v.type === 'volume' ? v.source : undefined))
    .filter((source): source is string => !!source && !/^[./~$]/.test(source));
}

/** Host ports a service publishes. */
function publishedPorts(service: Service): number[] {
  return (service.ports ?? []).flatMap((port) => {
    if (typeof port !== 'string') return port.published === undefined ? [] : [Number(port.published)];
    const parts = port.replace(/\/(tcp|udp)$/, '').split(':');
    return parts.length >= 2 ? [Number(parts[parts.length - 2])] : [];
  });
}

function commandText(service: Service): string {
  const parts = [service.entrypoint ?? [], service.command ?? []].map((p) => (Array.isArray(p) ? p.join(' ') : p));
  return parts.join(' ');
}

describe('docker-compose.yml', () => {
  it('runs PostgreSQL, Temporal, the admin tools, the Temporal UI, the worker and the server', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['postgresql', 'server', 'temporal', 'temporal-admin-tools', 'temporal-ui', 'worker']);
  });

  it.each(services)('%s has an image or a build, and a pinned image tag', (_name, service) => {
    expect(service.image !== undefined || service.build !== undefined).toBe(true);
    if (service.build === undefined) expect(service.image).toMatch(/^[a-z0-9./-]+:(?!latest$)[A-Za-z0-9._-]+$/);
  });

  it('depends only on services it defines, waiting for health only where there is a healthcheck', () => {
    for (const [name, service] of services) {
      for (const [dependency, condition] of Object.entries(dependencies(service))) {
        expect(`${name} → ${dependency}: ${compose.services[dependency] ? 'defined' : 'undefined'}`).toBe(`${name} → ${dependency}: defined`);
        expect(['service_started', 'service_healthy', 'service_completed_successfully']).toContain(condition);
        if (condition === 'service_healthy') expect(compose.services[dependency]!.healthcheck).toBeDefined();
        if (condition === 'service_completed_successfully') expect(compose.services[dependency]!.restart).toBe('no');
      }
    }
  });

  it('declares every named volume it mounts, and mounts every one it declares', () => {
    const used = new Set(services.flatMap(([, service]) => namedVolumes(service)));
    expect([...used].sort()).toEqual(Object.keys(compose.volumes ?? {}).sort());
    expect(namedVolumes(compose.services.postgresql!)).toEqual(['postgres-data']);
  });

  it('publishes well-formed, quoted ports, each host port once', () => {
    const all: number[] = [];
    for (const [, service] of services) {
      for (const port of service.ports ?? []) {
        // Unquoted, YAML 1.1 tools read 22:22 as a base-60 number.
        expect(typeof port).toBe('string');
        expect(port).toMatch(/^((\d{1,3}\.){3}\d{1,3}:)?(\d{1,5}:)?\d{1,5}(\/(tcp|udp))?$/);
      }
      all.push(...publishedPorts(service));
    }
    for (const port of all) expect(port).toBeGreaterThan(0);
    expect(all.every((port) => port <= 65535)).toBe(true);
    expect(new Set(all).size).toBe(all.length);
    expect(all.sort((a, b) => a - b)).toEqual([3000, 7233, 8080]);
  });

  it('starts Temporal on PostgreSQL once PostgreSQL is healthy', () => {
    const temporal = compose.services.temporal!;
    expect(temporal.image).toMatch(/^temporalio\/auto-setup:/);
    expect(compose.services.postgresql!.image).toMatch(/^postgres:16(\.|$)/);
    expect(dependencies(temporal)).toEqual({ postgresql: 'service_healthy' });
    expect(environment(temporal)).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql', POSTGRES_USER: 'temporal' });
    expect(environment(temporal).POSTGRES_PWD).toBe(environment(compose.services.postgresql!).POSTGRES_PASSWORD);
  });

  it('registers every search attribute the workflows use, as Keyword, idempotently', () => {
    const tools = compose.services['temporal-admin-tools']!;
    expect(tools.image).toMatch(/^temporalio\/admin-tools:/);
    expect(environment(tools).TEMPORAL_ADDRESS).toBe('temporal:7233');
    const script = commandText(tools);
    // It waits for auto-setup to register the namespace before creating attributes in it.
    expect(script.indexOf('temporal operator namespace describe --namespace default')).toBeLessThan(script.indexOf('search-attribute create'));
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_TYPES)) {
      expect(script).toContain(`temporal operator search-attribute create --namespace default --name ${name} --type ${type} || true`);
    }
    expect(Object.keys(SEARCH_ATTRIBUTE_TYPES).sort()).toEqual(['AppVersion', 'DeployPhase', 'Environment', 'GitCommit', 'SyncStatus']);
  });

  it('serves the Temporal UI on 8080 against the Temporal service', () => {
    const ui = compose.services['temporal-ui']!;
    expect(ui.image).toMatch(/^temporalio\/ui:/);
    expect(ui.ports).toEqual(['8080:8080']);
    expect(environment(ui).TEMPORAL_ADDRESS).toBe('temporal:7233');
  });

  describe.each(['worker', 'server'])('%s', (name) => {
    const service = compose.services[name]!;

    it('is built from the project Dockerfile and reaches Temporal at the temporal service', () => {
      expect(service.build).toEqual({ context: '.', dockerfile: 'Dockerfile' });
      expect(existsSync(path.join(ROOT, 'Dockerfile'))).toBe(true);
      const address = environment(service).TEMPORAL_ADDRESS!;
      const [host, port] = address.split(':');
      expect(compose.services[host!]?.image).toMatch(/^temporalio\/auto-setup:/);
      expect(port).toBe('7233');
      // Its workflows set the search attributes, so they must exist first.
      expect(dependencies(service)).toMatchObject({ temporal: 'service_started', 'temporal-admin-tools': 'service_completed_successfully' });
      expect(service.restart).toBe('unless-stopped');
    });
  });

  it('runs the worker against AWS with credentials from the host and prod protected', () => {
    const worker = compose.services.worker!;
    expect(worker.command).toEqual(['worker']);
    const env = environment(worker);
    expect(env.AWS_REGION).toMatch(/^\$\{AWS_REGION(:-[a-z0-9-]+)?\}$/);
    // A key without a value takes the host's value and stays unset when the host has none.
    expect(env).toMatchObject({ AWS_ACCESS_KEY_ID: null, AWS_SECRET_ACCESS_KEY: null, AWS_SESSION_TOKEN: null, CFN_GITOPS_PROTECTED_ENVIRONMENTS: 'prod' });
  });

  it('runs the server on port 3000 with links to the published Temporal UI and secrets from the host', () => {
    const server = compose.services.server!;
    expect(server.command).toEqual(['server', '--port', '3000', '--host', '0.0.0.0']);
    expect(server.ports).toEqual(['3000:3000']);
    const env = environment(server);
    expect(env.TEMPORAL_UI_URL).toBe(`http://localhost:${publishedPorts(compose.services['temporal-ui']!)[0]}`);
    expect(env).toMatchObject({ CFN_GITOPS_API_TOKENS: null, GITHUB_WEBHOOK_SECRET: null });
  });
});

/** `docker compose` needs only the client to check a file; there may be none here. */
const composeAvailable = spawnSync('docker', ['compose', 'version']).status === 0;
const composeTest = composeAvailable ? it : it.skip;
composeTest(`docker compose config accepts the file${composeAvailable ? '' : ' (skipped: the docker compose client is not installed)'}`, () => {
  const result = spawnSync('docker', ['compose', '--file', 'docker-compose.yml', 'config', '--quiet'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const instructions = dockerfile.split('\n').filter((line) => /^[A-Z]+\s/.test(line));
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };

  it('builds on node:22-slim with npm ci and npm run build, then installs production dependencies only', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:22-slim$/m);
    expect(instructions.filter((line) => line.startsWith('FROM ')).map((line) => line.split(/\s+/).slice(1).join(' '))).toEqual([
      '${NODE_IMAGE} AS build',
      '${NODE_IMAGE} AS deps',
      '${NODE_IMAGE} AS runtime',
    ]);
    expect(dockerfile).toMatch(/RUN npm ci .*\n(.*\n)*RUN npm run build/);
    expect(dockerfile).toMatch(/RUN npm ci --omit=dev/);
    expect(dockerfile).toContain('COPY --from=build --chown=root:root /app/dist ./dist');
    expect(dockerfile).toContain('COPY --from=deps --chown=root:root /app/node_modules ./node_modules');
  });

  it('runs the bin of package.json as a non-root user, the worker by default', () => {
    const user = instructions.filter((line) => line.startsWith('USER '));
    expect(user).toEqual(['USER node']);
    expect(instructions.indexOf('USER node')).toBeGreaterThan(instructions.findIndex((line) => line.startsWith('FROM ${NODE_IMAGE} AS runtime')));
    expect(instructions).toContain(`ENTRYPOINT ["node", "${pkg.bin['cfn-gitops']}"]`);
    expect(pkg.bin['cfn-gitops']).toBe('dist/bin/cfn-gitops.js');
    expect(instructions[instructions.length - 1]).toBe('CMD ["worker"]');
  });

  it('keeps local build output, tools and history out of the build context', () => {
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim());
    for (const entry of ['node_modules', 'dist', '.tools', '.git', 'test-artifacts']) expect(ignored).toContain(entry);
    // What the build reads must stay in the context.
    for (const needed of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'bin', 'common', 'workflows', 'worker']) {
      expect(ignored).not.toContain(needed);
    }
  });
});
