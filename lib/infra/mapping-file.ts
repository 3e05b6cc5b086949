import { readFileSync } from 'node:fs';
import { CutoverError } from '../errors.ts';

/**
 * Reads a DMS table-mapping file for embedding in a task. The task gets `JSON.stringify` of the
 * parsed file: the same rules, byte for byte after parsing, that the local replicator executes.
 * Checking the rules themselves is `cutover mappings check`'s job; here we only refuse what DMS
 * would refuse at deploy time (missing file, not JSON, no `rules` array).
 */
export function readTableMappingFile(file: string, role: 'forward' | 'reverse'): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CutoverError('CONFIG_INVALID', `the ${role} table-mapping file cannot be read: ${file}`, {
      received: file,
      fix: `create it, or fix mappings.${role} in the config (relative to the config file)`,
      cause: err,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CutoverError('MAPPING_INVALID', `${file} is not valid JSON: ${(err as Error).message}`, {
      fix: 'fix the JSON syntax; `npx cutover mappings check FILE` explains rule errors',
    });
  }
  if (!parsed || typeof parsed !== 'object' || !Array.isArray((parsed as { rules?: unknown }).rules)) {
    throw new CutoverError('MAPPING_INVALID', `${file} is not an AWS DMS table-mapping document`, {
      received: Object.keys((parsed as object) ?? {}).join(', ') || String(parsed),
      allowed: '{ "rules": [ { "rule-type": "selection", … } ] }',
      fix: 'see https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Tasks.CustomizingTasks.TableMapping.html',
    });
  }
  return JSON.stringify(parsed);
}
