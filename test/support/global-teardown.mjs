/** After the e2e suites: stops the moto server the global setup started (none when CI gave one). */
export default async function globalTeardown() {
  await globalThis.stowageMoto?.stop();
}
