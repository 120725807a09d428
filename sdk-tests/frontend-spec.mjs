// The Unleash client specification v6.1.0 through Signalbox's own evaluation, as a frontend
// SDK sees it: `POST /api/frontend {"context": …}` with a frontend token per spec file.
//
// A frontend SDK (unleash-proxy-client) sends its appName and environment ("default" unless
// configured) with every context, and the backend SDKs' spec runners evaluate with the same
// static context; so each case's context is laid over {appName, environment: "default"}.
// The caller's address stands in for a missing remoteAddress (the server's documented
// behaviour, and Unleash's); a case that fails where that can matter says so in the report.
// A toggle missing from the answer is off, with the variant
// {"name":"disabled","enabled":false,"feature_enabled":false}, as the frontend SDKs read it.
// Mismatches are results, not errors: the exit code is non-zero only if the runner crashes.
import { BASE, normalVariant, repeated, specFiles, specVersion, specWorld, writeResults } from './lib/admin.mjs';

const PKG = 'spec-6';
const MISSING = { name: 'disabled', enabled: false, feature_enabled: false };

async function evaluate(secret, context) {
  const response = await fetch(`${BASE}/api/frontend`, {
    method: 'POST',
    headers: { authorization: secret, 'content-type': 'application/json' },
    body: JSON.stringify({ context }),
  });
  const text = await response.text();
  if (response.status !== 200) {
    throw new Error(`POST /api/frontend answered ${response.status}: ${text.slice(0, 300)}`);
  }
  return JSON.parse(text).toggles;
}

const result = { runner: 'frontend-api', label: 'Signalbox /api/frontend', spec: specVersion(PKG), files: [] };
for (const { index, name, spec } of specFiles(PKG)) {
  const file = { file: name, cases: [] };
  result.files.push(file);
  const appName = name.replace(/\.json$/, '');
  let secret;
  try {
    secret = (await specWorld('fe6', index, spec.state, 'frontend')).secret;
  } catch (error) {
    file.setupError = String(error?.message ?? error);
  }
  const cases = [
    ...(spec.tests ?? []).map((t) => ({ kind: 'test', t })),
    ...(spec.variantTests ?? []).map((t) => ({ kind: 'variant', t })),
  ];
  for (const { kind, t } of cases) {
    const context = { appName, environment: 'default', ...(t.context ?? {}) };
    const expected = kind === 'test' ? t.expectedResult : normalVariant(t.expectedResult);
    let got;
    let ok = false;
    if (secret) {
      ({ got, pass: ok } = await repeated(async () => {
        try {
          const toggle = (await evaluate(secret, context)).find((x) => x.name === t.toggleName);
          if (kind === 'test') return toggle ? toggle.enabled === true : false;
          return toggle ? normalVariant(toggle.variant) : MISSING;
        } catch (error) {
          return `error: ${error?.message ?? error}`;
        }
      }, expected));
    }
    const c = { kind, description: t.description, toggleName: t.toggleName, context, expected, got, pass: ok };
    const definition = (spec.state.features ?? []).find((f) => f.name === t.toggleName);
    if (!ok && context.remoteAddress === undefined && JSON.stringify(definition ?? {}).includes('remoteAddress')) {
      c.note =
        'the context has no remoteAddress, and /api/frontend then evaluates with the caller\'s address ' +
        '(here 127.0.0.1), as Unleash\'s frontend API does; an SDK evaluates with none';
    }
    file.cases.push(c);
  }
  const passed = file.cases.filter((c) => c.pass).length;
  console.log(`frontend  spec ${result.spec} ${name}: ${passed}/${file.cases.length}${file.setupError ? ` (setup: ${file.setupError})` : ''}`);
}
writeResults('frontend-api', result);
process.exit(0);
