// The Unleash client specification v5.2.2 through the official Node SDK: for each spec file
// a fresh project and environment get the spec's state through the Unleash import, and an
// SDK fetches it from Signalbox (no bootstrap, no backup file) and answers every case.
// Mismatches are results, not errors: the exit code is non-zero only if the runner crashes.
import { InMemStorageProvider, Unleash } from 'unleash-client';

import { BASE, normalVariant, repeated, specFiles, specVersion, specWorld, writeResults } from './lib/admin.mjs';

const PKG = 'spec-5';

function guard(evaluate) {
  try {
    return evaluate();
  } catch (error) {
    return `threw ${error?.message ?? error}`;
  }
}

function connect(world, appName) {
  const client = new Unleash({
    url: `${BASE}/api`,
    appName,
    instanceId: `spec-${world.project}`,
    customHeaders: { Authorization: world.secret },
    disableMetrics: true,
    refreshInterval: 600000,
    storageProvider: new InMemStorageProvider(),
    skipInstanceCountWarning: true,
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no synchronized event within 15 s')), 15000);
    client.once('synchronized', () => {
      clearTimeout(timer);
      resolve(client);
    });
    client.once('error', (e) => {
      clearTimeout(timer);
      client.destroy();
      reject(e);
    });
  });
}

const result = { runner: 'node-sdk', label: 'Node SDK unleash-client', spec: specVersion(PKG), files: [] };
for (const { index, name, spec } of specFiles(PKG)) {
  const file = { file: name, cases: [] };
  result.files.push(file);
  const appName = name.replace(/\.json$/, '');
  let client;
  try {
    const world = await specWorld('node5', index, spec.state, 'client');
    client = await connect(world, appName);
  } catch (error) {
    file.setupError = String(error?.message ?? error);
  }
  for (const t of spec.tests ?? []) {
    const c = { kind: 'test', description: t.description, toggleName: t.toggleName, context: t.context, expected: t.expectedResult };
    if (client) {
      Object.assign(c, await repeated(() => guard(() => client.isEnabled(t.toggleName, t.context)), t.expectedResult));
    } else {
      Object.assign(c, { got: undefined, pass: false });
    }
    file.cases.push(c);
  }
  for (const t of spec.variantTests ?? []) {
    const expected = normalVariant(t.expectedResult);
    const c = { kind: 'variant', description: t.description, toggleName: t.toggleName, context: t.context, expected };
    if (client) {
      Object.assign(c, await repeated(() => guard(() => normalVariant(client.getVariant(t.toggleName, t.context))), expected));
    } else {
      Object.assign(c, { got: undefined, pass: false });
    }
    file.cases.push(c);
  }
  client?.destroy();
  const passed = file.cases.filter((c) => c.pass).length;
  console.log(`node-sdk  spec ${result.spec} ${name}: ${passed}/${file.cases.length}${file.setupError ? ` (setup: ${file.setupError})` : ''}`);
}
writeResults('node-sdk', result);
process.exit(0);
