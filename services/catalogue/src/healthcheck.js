'use strict';
// Container health check (the task definition's healthCheck command): exit 0 when /health answers 200.

const http = require('node:http');

const request = http.get({ host: '127.0.0.1', port: Number(process.env.PORT || 8080), path: '/health', timeout: 2000 }, (response) => {
  response.resume();
  process.exit(response.statusCode === 200 ? 0 : 1);
});
request.on('timeout', () => request.destroy(new Error('timed out')));
request.on('error', (error) => {
  process.stderr.write(`unhealthy: ${error.message}\n`);
  process.exit(1);
});
