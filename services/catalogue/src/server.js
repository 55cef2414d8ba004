'use strict';
// Entry point: serve the catalogue on PORT until SIGTERM, then finish in-flight requests and exit.

const { createServer, loadProducts } = require('./catalogue');

const port = Number(process.env.PORT || 8080);
const products = loadProducts(process.env.CATALOGUE_FILE || '/app/catalogue.json');
const server = createServer(products);
server.keepAliveTimeout = 5000;
server.listen(port, '0.0.0.0', () => process.stdout.write(`catalogue: ${products.size} products on :${port}\n`));

process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 10000).unref();
});
