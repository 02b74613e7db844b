/**
 * User import files (EMQX format): CSV with a header line, or a JSON array of objects.
 * hash: user_id,password_hash,salt,is_superuser — plain: user_id,password,is_superuser.
 */
import { AuthnError, type ImportRecord } from '../types.js';

/** Parses an import file by its name (.csv / .json) or, with no name, by its first character. */
export function parseUsersFile(content: string, filename?: string): ImportRecord[] {
  const text = content.replace(/^\uFEFF/, '');
  const json = filename === undefined ? /^\s*[[{]/.test(text) : filename.toLowerCase().endsWith('.json');
  if (!json && filename !== undefined && !filename.toLowerCase().endsWith('.csv'))
    throw new AuthnError('BAD_REQUEST', `unsupported file type ${filename}: use .csv or .json`);
  return json ? parseJson(text) : parseCsv(text);
}

function parseJson(text: string): ImportRecord[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new AuthnError('BAD_REQUEST', `invalid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(v)) throw new AuthnError('BAD_REQUEST', 'the JSON file must hold an array of users');
  return v.map((x) => (x !== null && typeof x === 'object' ? (x as ImportRecord) : {}));
}

function parseCsv(text: string): ImportRecord[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) return [];
  const header = splitCsvLine(lines[0]!).map((h) => h.trim());
  if (!header.includes('user_id')) throw new AuthnError('BAD_REQUEST', 'the CSV header must name user_id');
  return lines.slice(1).map((line) => {
    const cells = splitCsvLine(line);
    const rec: Record<string, string> = {};
    header.forEach((h, i) => {
      if (cells[i] !== undefined) rec[h] = cells[i]!;
    });
    return rec as ImportRecord;
  });
}

/** Splits one CSV line, honouring double quotes ("a,b" and "" for a quote). */
function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** is_superuser as imports write it: true/false, "true"/"false", 1/0 (absent = false). */
export function importFlag(v: unknown): boolean | undefined {
  if (v === undefined || v === null || v === '') return false;
  if (v === true || v === 'true' || v === 1 || v === '1') return true;
  if (v === false || v === 'false' || v === 0 || v === '0') return false;
  return undefined;
}
