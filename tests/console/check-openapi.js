#!/usr/bin/env node
// check-openapi.js FILE: checks the console API's answers against console/openapi.yaml.
// FILE holds a JSON array of {method, path, status, type, body}, one per answer the
// integration tests received (path with its query; body parsed JSON). Each answer must
// match an operation (method + path template) and a response the operation declares for
// that status, and a JSON body must validate against that response's schema (ajv, with
// OpenAPI's `nullable` turned into JSON Schema). Prints "PASS ..." / "FAIL ..." per answer
// and "N passed, N failed"; exits 1 when any failed, 3 when the npm tooling is missing
// (tests/contract/setup.sh installs it).
'use strict';

const fs = require('fs');
const path = require('path');

const TOP = path.resolve(__dirname, '..', '..');
const NODE_DIR = process.env.CONTRACT_NODE_DIR || path.join(TOP, 'build', 'contract-node');
let Ajv, yaml;
try {
  Ajv = require(path.join(NODE_DIR, 'node_modules', 'ajv'));
  yaml = require(path.join(NODE_DIR, 'node_modules', 'js-yaml'));
} catch (e) {
  console.log('contract: SKIPPED (ajv or js-yaml missing: run tests/contract/setup.sh)');
  process.exit(3);
}

const spec = yaml.load(fs.readFileSync(path.join(TOP, 'console', 'openapi.yaml'), 'utf8'));

// OpenAPI 3.0 schema -> JSON Schema: nullable, and $ref into #/components/schemas/.
function convert(s) {
  if (Array.isArray(s)) return s.map(convert);
  if (s === null || typeof s !== 'object') return s;
  const out = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'nullable' || k === 'example' || k === 'format') continue;
    if (k === '$ref') out.$ref = v.replace('#/components/schemas/', '#/definitions/');
    else out[k] = convert(v);
  }
  if (s.nullable) {
    if (out.$ref || out.allOf) return { anyOf: [out, { type: 'null' }] };
    if (out.type) out.type = [].concat(out.type, 'null');
    if (out.enum) out.enum = out.enum.concat([null]);
  }
  return out;
}
const definitions = convert(spec.components.schemas);
const ajv = new Ajv({ allErrors: true, strict: false });

function resolveResponse(r) {
  while (r && r.$ref) {
    const name = r.$ref.split('/').pop();
    r = spec.components.responses[name];
  }
  return r;
}

function findOperation(method, p) {
  for (const [tmpl, item] of Object.entries(spec.paths)) {
    const rx = new RegExp('^' + tmpl.replace(/\{[^}]+\}/g, '[^/]+') + '$');
    if (rx.test(p) && item[method.toLowerCase()]) return { tmpl, op: item[method.toLowerCase()] };
  }
  return null;
}

const answers = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
let passed = 0, failed = 0;
const seen = new Set();
for (const a of answers) {
  const p = a.path.replace(/^\/admin\/api\/v1/, '').split('?')[0];
  const name = `${a.method} ${a.path} ${a.status}`;
  const found = findOperation(a.method, p);
  const fail = (why) => { failed++; console.log(`FAIL ${name}: ${why}`); };
  if (!found) { fail('no such operation in console/openapi.yaml'); continue; }
  const resp = resolveResponse(found.op.responses[String(a.status)]);
  if (!resp) { fail(`status ${a.status} is not declared for ${a.method} ${found.tmpl}`); continue; }
  if (a.status === 204 || !resp.content) { passed++; continue; }
  const type = (a.type || '').split(';')[0].trim();
  const media = resp.content[type];
  if (!media) { fail(`content type ${type} is not declared`); continue; }
  if (type !== 'application/json') { passed++; continue; }
  const validate = ajv.compile({ definitions, ...convert(media.schema) });
  if (!validate(a.body)) {
    fail(ajv.errorsText(validate.errors, { separator: '; ' }).slice(0, 600));
    continue;
  }
  passed++;
  seen.add(`${a.method} ${found.tmpl}`);
}
console.log(`operations answered: ${seen.size}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
