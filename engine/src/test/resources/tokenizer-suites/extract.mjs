// Extracts the test cases of mistral-tokenizer-js / llama-tokenizer-js into JSON, by running the package's own
// test-case block with recording stand-ins for testCase/testDecodeOnly. Also writes the embedded vocabulary and
// merge data (llama only) as plain files.
// usage: node extract.mjs <package dir> <out dir>
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const [pkgDir, outDir] = process.argv.slice(2);
const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
const file = pkg.main;
const src = fs.readFileSync(path.join(pkgDir, file), 'utf8');

// The test cases sit between the "// Simple test case" comment and the final console.log of the test function.
const start = src.indexOf('// Simple test case');
const end = src.indexOf("console.log('", start);
if (start < 0 || end < 0) throw new Error('test block not found in ' + file);
const block = src.slice(start, end);

const encodeCases = [];
const decodeCases = [];
const testCase = (input, expectedIds) => encodeCases.push({ input, expected_ids: expectedIds });
const testDecodeOnly = (ids, expected, add_bos_token = true, add_preceding_space = true) =>
    decodeCases.push({ ids, expected, add_bos_token, add_preceding_space });
new Function('testCase', 'testDecodeOnly', block)(testCase, testDecodeOnly);

const lineOf = (i) => src.slice(0, i).split('\n').length;
const suite = {
  package: pkg.name,
  version: pkg.version,
  license: pkg.license,
  source_file: file,
  source_lines: [lineOf(start), lineOf(end)],
  semantics: 'encode(input) with add_bos_token=true and add_preceding_space=true (the JS defaults, = SentencePiece ' +
             'with BOS); expected_ids include BOS id 1. The JS test also checks decode(encode(input)) === input.',
  encode_cases: encodeCases,
  decode_cases: decodeCases,
};
fs.mkdirSync(outDir, { recursive: true });
const base = pkg.name.replace(/-js$/, '');
fs.writeFileSync(path.join(outDir, base + '-suite.json'), JSON.stringify(suite, null, 1) + '\n');
console.log(base, encodeCases.length, 'encode cases', decodeCases.length, 'decode cases');

// Embedded data (llama-tokenizer-js): vocab = base64 UTF-8 text, one piece per line in id order;
// merges = base64 little-endian uint16 pairs (left id, right id) in rank order.
const grab = (name) => {
  const m = src.match(new RegExp('const ' + name + ' = "([A-Za-z0-9+/=]+)"'));
  return m ? Buffer.from(m[1], 'base64') : null;
};
const vocab = grab('llama_vocab_base64');
const merges = grab('llama_merges_binary');
if (vocab && merges) {
  fs.writeFileSync(path.join(outDir, base + '-vocab.txt.gz'), zlib.gzipSync(vocab, { level: 9 }));
  fs.writeFileSync(path.join(outDir, base + '-merges.u16le.gz'), zlib.gzipSync(merges, { level: 9 }));
  console.log('vocab pieces', vocab.toString('utf8').split('\n').length, 'merges', merges.length / 4);
}
