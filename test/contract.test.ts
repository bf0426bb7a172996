/**
 * The wire contract under app/contract/ is bundled into the browser pages and shared with the server, so it
 * must stay plain: type-only imports (of itself or of the Node-free model), values only in its own constants,
 * and no `any` that would let a renamed field slip past the type-check.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT } from '../app/config/config.ts';

const CONTRACT = path.join(PROJECT_ROOT, 'app', 'contract');

/** Every `import … from` and `export … from` statement of a source text (comments removed). */
function fromStatements(source: string): string[] {
  const code = stripComments(source);
  return [...code.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*['"][^'"]+['"]|^\s*import\s*['"][^'"]+['"]/gms)].map((m) => m[0].trim());
}

function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
}

function specifierOf(statement: string): string {
  return /['"]([^'"]+)['"]\s*$/.exec(statement)![1]!;
}

async function contractFiles(): Promise<string[]> {
  return (await readdir(CONTRACT)).filter((f) => f.endsWith('.ts')).map((f) => path.join(CONTRACT, f));
}

describe('the rules the wire contract keeps', () => {
  it('imports nothing but types: only its own constants are values', async () => {
    const files = await contractFiles();
    assert.ok(files.length >= 3, 'the contract folder has its files');
    for (const file of files) {
      for (const st of fromStatements(await readFile(file, 'utf8'))) {
        const spec = specifierOf(st);
        const typeOnly = /^(import|export)\s+type\b/.test(st);
        const ownConstants = spec === './constants.ts' && /^export\s+\*\s+from/.test(st);
        assert.ok(typeOnly || ownConstants, `${path.basename(file)} has a value import: ${st}`);
        const target = path.resolve(path.dirname(file), spec);
        assert.ok(spec.startsWith('.') && (target.startsWith(CONTRACT + path.sep) || target.startsWith(path.join(PROJECT_ROOT, 'app', 'model') + path.sep)), `${path.basename(file)} reaches outside the contract and the model: ${spec}`);
      }
    }
    assert.deepEqual(fromStatements(await readFile(path.join(CONTRACT, 'constants.ts'), 'utf8')), [], 'constants.ts imports nothing');
  });

  it('the model files it names import no Node, Express, SQLite or Electron module', async () => {
    const seen = new Set<string>();
    for (const file of await contractFiles()) {
      for (const st of fromStatements(await readFile(file, 'utf8'))) {
        const target = path.resolve(path.dirname(file), specifierOf(st));
        if (!target.startsWith(CONTRACT)) seen.add(target);
      }
    }
    assert.ok(seen.size > 0);
    for (const file of seen) {
      for (const st of fromStatements(await readFile(file, 'utf8'))) {
        const spec = specifierOf(st);
        assert.ok(spec.startsWith('.'), `${path.relative(PROJECT_ROOT, file)} imports the package ${spec}`);
      }
    }
  });

  it('says `any` nowhere', async () => {
    for (const file of await contractFiles()) {
      assert.doesNotMatch(stripComments(await readFile(file, 'utf8')), /\bany\b/, `${path.basename(file)} uses any`);
    }
  });

  it('a value import is caught (the check itself works)', () => {
    const caught = fromStatements("import { readFile } from 'node:fs';\nimport type { X } from './wire.ts';\n");
    assert.equal(caught.length, 2);
    assert.ok(!/^(import|export)\s+type\b/.test(caught[0]!));
  });
});
