// Gathers the runs into one report: the basic SDK checks' logs, then the specification pass
// counts per file and runner, then every case that did not pass with expected vs got.
// Prints it and writes it to sdk-tests/report.txt. Always exits 0: run.sh decides.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { HERE, show } from './lib/admin.mjs';

const dir = process.env.SBX_RESULTS_DIR;
const out = [];
const line = (text = '') => out.push(text);

line(`Signalbox against the official Unleash SDKs — ${new Date().toISOString()}`);
line(`Versions: ${process.env.SBX_VERSIONS ?? '(unknown)'}`);
line();
line('== Basic checks ==');
for (const name of ['node-basic', 'python-basic']) {
  const path = join(dir, `${name}.log`);
  line(`-- ${name} --`);
  line(existsSync(path) ? readFileSync(path, 'utf8').trimEnd() : '(did not run)');
}

const runners = ['node-sdk', 'python-sdk', 'frontend-api']
  .map((r) => join(dir, `${r}.json`))
  .filter((p) => existsSync(p))
  .map((p) => JSON.parse(readFileSync(p, 'utf8')));

line();
line('== Client specification: cases passed per file ==');
const fileNames = [...new Set(runners.flatMap((r) => r.files.map((f) => f.file)))].sort();
const header = ['file'.padEnd(42), ...runners.map((r) => `${r.runner} (${r.spec})`.padStart(22))].join(' ');
line(header);
for (const name of fileNames) {
  const cells = runners.map((r) => {
    const f = r.files.find((x) => x.file === name);
    if (!f) return '—'.padStart(22);
    const passed = f.cases.filter((c) => c.pass).length;
    const mark = passed === f.cases.length ? '' : ' *';
    return `${passed}/${f.cases.length}${mark}`.padStart(22);
  });
  line([name.padEnd(42), ...cells].join(' '));
}
const totals = runners.map((r) => {
  const cases = r.files.flatMap((f) => f.cases);
  return { runner: r, passed: cases.filter((c) => c.pass).length, total: cases.length };
});
line(['total'.padEnd(42), ...totals.map((t) => `${t.passed}/${t.total}`.padStart(22))].join(' '));
for (const missing of ['node-sdk', 'python-sdk', 'frontend-api'].filter((r) => !runners.some((x) => x.runner === r))) {
  line(`(${missing}: no results — the runner crashed or did not run)`);
}

line();
line('== Cases that did not pass ==');
let any = false;
for (const r of runners) {
  for (const f of r.files) {
    if (f.setupError) {
      any = true;
      line(`[${r.runner} ${r.spec}] ${f.file}: SETUP FAILED: ${f.setupError}`);
    }
    for (const c of f.cases.filter((x) => !x.pass)) {
      any = true;
      line(`[${r.runner} ${r.spec}] ${f.file} — ${c.description}`);
      line(`    ${c.kind === 'test' ? 'isEnabled' : 'getVariant'}(${JSON.stringify(c.toggleName)}, ${show(c.context)})`);
      // A string is the runner's own description (answers that vary, an SDK that threw).
      line(`    expected ${show(c.expected)}, got ${typeof c.got === 'string' ? c.got : show(c.got)}`);
      if (c.note) line(`    note: ${c.note}`);
    }
  }
}
if (!any) line('(none)');

line();
line(
  `Summary: ${totals.map((t) => `${t.runner.runner} ${t.passed}/${t.total}`).join(', ')} specification cases passed`,
);

const text = `${out.join('\n')}\n`;
writeFileSync(join(HERE, 'report.txt'), text);
process.stdout.write(text);
