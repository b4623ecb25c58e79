// Report files: the renderer follows the extension (.json, .md, .html).
import fs from 'node:fs';
import path from 'node:path';
import { UserInputError } from '../errors.js';
import { renderHtml } from './render-html.js';
import { renderJson } from './render-json.js';
import { renderMarkdown } from './render-markdown.js';
import type { Report } from './types.js';

export type ReportFormat = 'json' | 'md' | 'html';

const BY_EXT: Record<string, ReportFormat> = { '.json': 'json', '.md': 'md', '.markdown': 'md', '.html': 'html', '.htm': 'html' };

/** The renderer a file name asks for; throws a UserInputError naming the accepted extensions. */
export function reportFormat(file: string): ReportFormat {
  const fmt = BY_EXT[path.extname(file).toLowerCase()];
  if (!fmt) throw new UserInputError(`${file}: unknown report type; use a .json, .md or .html file name`);
  return fmt;
}

/** Splits repeated and comma-separated --report values into file names. */
export function reportFiles(values: readonly string[] | string | undefined): string[] {
  const list = typeof values === 'string' ? [values] : values ?? [];
  return list.flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
}

export function renderReport(report: Report, format: ReportFormat): string {
  switch (format) {
    case 'json': return `${renderJson(report)}\n`;
    case 'md': return renderMarkdown(report);
    case 'html': return renderHtml(report);
  }
}

/** Writes every requested report file (each rendered from the same Report). Returns the paths. */
export function writeReports(report: Report, files: readonly string[]): string[] {
  const jobs = files.map((file) => ({ file, format: reportFormat(file) }));
  for (const { file, format } of jobs) {
    const dir = path.dirname(path.resolve(file));
    if (!fs.existsSync(dir)) throw new UserInputError(`${file}: folder ${dir} does not exist`);
    const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
    fs.writeFileSync(tmp, renderReport(report, format));
    fs.renameSync(tmp, file);
  }
  return jobs.map((j) => j.file);
}
