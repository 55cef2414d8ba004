'use strict';
// Unit tests: the real HTTP server on an ephemeral 127.0.0.1 port, driven with Node's own fetch-free client.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { test, before, after } = require('node:test');

const { createServer, loadProducts } = require('../src/catalogue');

const CATALOGUE = path.join(__dirname, '..', 'catalogue.json');
let server;
let port;

function get(pathname, { method = 'GET', headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path: pathname, method, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => { text += chunk; });
      response.on('end', () => resolve({ status: response.statusCode, type: response.headers['content-type'], text }));
    });
    request.on('error', reject);
    request.end();
  });
}

before(async () => {
  const env = { GIT_SHA: 'a'.repeat(40), IMAGE_DIGEST: `sha256:${'b'.repeat(64)}`, REGION: 'us-east-1' };
  server = createServer(loadProducts(CATALOGUE), env);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = server.address().port;
});

after(() => server.close());

test('health answers 200 with the number of products', async () => {
  const reply = await get('/health');
  assert.equal(reply.status, 200);
  assert.deepEqual(JSON.parse(reply.text), { status: 'ok', products: 4 });
});

test('release names the release from the environment', async () => {
  const body = JSON.parse((await get('/release')).text);
  assert.equal(body.sha, 'a'.repeat(40));
  assert.equal(body.digest, `sha256:${'b'.repeat(64)}`);
});

test('lists every product and finds one by SKU', async () => {
  const all = JSON.parse((await get('/products')).text);
  assert.deepEqual(all.products.map((p) => p.sku), ['TEA-1', 'TEA-2', 'MUG-1', 'POT-1']);
  const one = await get('/products/MUG-1');
  assert.equal(one.status, 200);
  assert.equal(JSON.parse(one.text).name, 'Stoneware mug');
});

test('an unknown SKU is 404 and a malformed one 400, both as JSON errors', async () => {
  const missing = await get('/products/NOPE-9');
  assert.equal(missing.status, 404);
  assert.match(JSON.parse(missing.text).error, /no product NOPE-9/);
  const bad = await get('/products/%3Cscript%3E');
  assert.equal(bad.status, 400);
  assert.equal(bad.type, 'application/json');
});

test('writes are refused: the catalogue is read-only', async () => {
  const reply = await get('/products', { method: 'POST' });
  assert.equal(reply.status, 405);
});

test('metrics count requests by route template and status, with durations', async () => {
  await get('/products/TEA-1');
  await get('/products/NOPE-1');
  const text = (await get('/metrics')).text;
  assert.match(text, /catalogue_http_requests_total\{method="GET",path="\/products\/<sku>",status="200"\} \d+/);
  assert.match(text, /catalogue_http_requests_total\{method="GET",path="\/products\/<sku>",status="404"\} \d+/);
  assert.match(text, /catalogue_http_request_duration_seconds_bucket\{method="GET",path="\/products\/<sku>",le="\+Inf"\} \d+/);
  assert.doesNotMatch(text, /NOPE-1/);
});

test('a catalogue with a duplicate or malformed SKU is refused at start', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'catalogue-')), 'catalogue.json');
  fs.writeFileSync(file, JSON.stringify({ products: [{ sku: 'A-1' }, { sku: 'A-1' }] }));
  assert.throws(() => loadProducts(file), /needs a unique SKU/);
  fs.writeFileSync(file, JSON.stringify({ products: [{ sku: 'lower' }] }));
  assert.throws(() => loadProducts(file), /needs a unique SKU/);
  fs.writeFileSync(file, JSON.stringify({ items: [] }));
  assert.throws(() => loadProducts(file), /expected \{"products"/);
});
