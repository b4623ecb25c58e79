import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The package version, read once from package.json (one source of truth). */
export const QTOOL_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(fs.readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
})();
