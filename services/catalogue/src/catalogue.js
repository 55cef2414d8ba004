'use strict';
// The product catalogue: a read-only HTTP API over a JSON file baked into the image. No third-party packages:
// Node's own http module, and Prometheus' text format written here (two metric families).

const fs = require('node:fs');
const http = require('node:http');

const SKU = /^[A-Z0-9][A-Z0-9-]{0,31}$/;
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

function loadProducts(path) {
  const parsed = JSON.parse(fs.readFileSync(path, 'utf8'));
  if (!Array.isArray(parsed.products)) {
    throw new Error(`${path}: expected {"products": [...]}`);
  }
  const bySku = new Map();
  for (const product of parsed.products) {
    if (typeof product.sku !== 'string' || !SKU.test(product.sku) || bySku.has(product.sku)) {
      throw new Error(`${path}: product ${JSON.stringify(product.sku)} needs a unique SKU like ABC-1`);
    }
    bySku.set(product.sku, product);
  }
  return bySku;
}

class Metrics {
  constructor() {
    this.requests = new Map(); // "method|route|status" -> count
    this.durations = new Map(); // "method|route" -> {buckets, sum, count}
  }

  observe(method, route, status, seconds) {
    const key = `${method}|${route}|${status}`;
    this.requests.set(key, (this.requests.get(key) || 0) + 1);
    const series = `${method}|${route}`;
    const entry = this.durations.get(series) || { buckets: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 };
    DURATION_BUCKETS.forEach((bound, i) => {
      if (seconds <= bound) entry.buckets[i] += 1;
    });
    entry.sum += seconds;
    entry.count += 1;
    this.durations.set(series, entry);
  }

  render() {
    const lines = [
      '# HELP catalogue_http_requests_total HTTP requests by method, route and status.',
      '# TYPE catalogue_http_requests_total counter',
    ];
    for (const [key, count] of this.requests) {
      const [method, route, status] = key.split('|');
      lines.push(`catalogue_http_requests_total{method="${method}",path="${route}",status="${status}"} ${count}`);
    }
    lines.push('# HELP catalogue_http_request_duration_seconds HTTP request duration by method and route.');
    lines.push('# TYPE catalogue_http_request_duration_seconds histogram');
    for (const [series, entry] of this.durations) {
      const [method, route] = series.split('|');
      const labels = `method="${method}",path="${route}"`;
      DURATION_BUCKETS.forEach((bound, i) => {
        lines.push(`catalogue_http_request_duration_seconds_bucket{${labels},le="${bound}"} ${entry.buckets[i]}`);
      });
      lines.push(`catalogue_http_request_duration_seconds_bucket{${labels},le="+Inf"} ${entry.count}`);
      lines.push(`catalogue_http_request_duration_seconds_sum{${labels}} ${entry.sum}`);
      lines.push(`catalogue_http_request_duration_seconds_count{${labels}} ${entry.count}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

// The route a request matched (its template, so metric labels stay bounded) and its reply.
function route(products, env, metrics, method, path) {
  if (method !== 'GET' && method !== 'HEAD') {
    return ['unmatched', 405, { error: 'only GET is served', status: 405 }];
  }
  // Its health and release paths, as its contract (service.yaml `health`) declares them.
  if (path === '/health') return ['/health', 200, { status: 'ok', products: products.size }];
  if (path === '/release') {
    return ['/release', 200, {
      sha: env.GIT_SHA || 'unknown',
      digest: env.IMAGE_DIGEST || 'unknown',
      region: env.REGION || 'unknown',
      environment: env.DEPLOY_ENV || 'unknown',
    }];
  }
  if (path === '/metrics') return ['/metrics', 200, metrics.render()];
  if (path === '/products') return ['/products', 200, { products: [...products.values()] }];
  const match = /^\/products\/([^/]+)$/.exec(path);
  if (match) {
    const sku = decodeURIComponent(match[1]);
    if (!SKU.test(sku)) return ['/products/<sku>', 400, { error: 'a SKU is 1-32 of A-Z, 0-9 and -', status: 400 }];
    const product = products.get(sku);
    return product ? ['/products/<sku>', 200, product] : ['/products/<sku>', 404, { error: `no product ${sku}`, status: 404 }];
  }
  return ['unmatched', 404, { error: 'not found', status: 404 }];
}

function createServer(products, env = process.env) {
  const metrics = new Metrics();
  return http.createServer((request, response) => {
    const started = process.hrtime.bigint();
    const path = new URL(request.url, 'http://catalogue').pathname;
    let name;
    let status;
    let body;
    try {
      [name, status, body] = route(products, env, metrics, request.method, path);
    } catch (error) {
      [name, status, body] = ['unmatched', 400, { error: 'bad request path', status: 400 }];
    }
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const type = typeof body === 'string' ? 'text/plain; version=0.0.4' : 'application/json';
    response.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text) });
    response.end(request.method === 'HEAD' ? undefined : text);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics.observe(request.method, name, status, seconds);
    const requestId = request.headers['x-request-id'] || '-';
    process.stdout.write(`${request.method} ${path} ${status} ${seconds.toFixed(4)}s request_id=${requestId}\n`);
  });
}

module.exports = { createServer, loadProducts, Metrics };
