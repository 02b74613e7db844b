/** Logging from `log.*`: rotating files, text and json formatters, levels, and runtime changes. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { ConfigService } from '../../src/config/service.js';
import { logger } from '../../src/log.js';
import {
  closeLogging,
  configureLogging,
  type LogConfig,
  RotatingFile,
  textLine,
  watchLogConfig,
} from '../../src/log-setup.js';

const dir = mkdtempSync(join(tmpdir(), 'hermod-log-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The decoded `log` section for raw `log` settings. */
function logConfig(raw: Record<string, unknown>): LogConfig {
  const r = loadConfig({ env: { HERMOD_LOG: JSON.stringify(raw) }, dataDir: dir });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config.log;
}

describe('RotatingFile', () => {
  test('rotates by size and keeps rotation_count files', () => {
    const path = join(dir, 'rot', 'a.log');
    const f = new RotatingFile(path, 100, 2);
    for (let i = 0; i < 7; i++) f.write(`${String(i).repeat(39)}\n`);
    f.close();
    // 40-byte lines, 100-byte files: two lines per file; 7 lines → 0-1, 2-3, 4-5 rotated, 6 current.
    assert.equal(readFileSync(path, 'utf8'), `${'6'.repeat(39)}\n`);
    assert.equal(readFileSync(`${path}.1`, 'utf8'), `${'4'.repeat(39)}\n${'5'.repeat(39)}\n`);
    assert.equal(readFileSync(`${path}.2`, 'utf8'), `${'2'.repeat(39)}\n${'3'.repeat(39)}\n`);
    assert.equal(existsSync(`${path}.3`), false);
  });

  test('appends to an existing file and counts its size', () => {
    const path = join(dir, 'rot2.log');
    const a = new RotatingFile(path, 50, 1);
    a.write(`${'x'.repeat(29)}\n`);
    a.close();
    const b = new RotatingFile(path, 50, 1);
    b.write(`${'y'.repeat(29)}\n`);
    b.close();
    assert.equal(readFileSync(path, 'utf8'), `${'y'.repeat(29)}\n`);
    assert.equal(readFileSync(`${path}.1`, 'utf8'), `${'x'.repeat(29)}\n`);
  });

  test('rotation_size = infinity never rotates', () => {
    const path = join(dir, 'inf.log');
    const f = new RotatingFile(path, Number.POSITIVE_INFINITY, 1);
    for (let i = 0; i < 100; i++) f.write('line\n');
    f.close();
    assert.equal(existsSync(`${path}.1`), false);
  });
});

describe('formatters', () => {
  test('text: time, EMQX level name, message, fields', () => {
    const line = textLine(
      '{"level":"warning","time":"2024-01-01T00:00:00.000Z","msg":"listener started","listener":"tcp:default","n":3,"s":"a b"}\n',
    );
    assert.equal(
      line,
      '2024-01-01T00:00:00.000Z [warning] listener started listener=tcp:default n=3 s="a b"\n',
    );
  });

  test('text: errors show their message and stack', () => {
    const line = textLine(
      JSON.stringify({
        level: 'error',
        time: 't',
        msg: 'boom',
        err: { message: 'bad', stack: 'Error: bad\n    at x' },
      }),
    );
    assert.equal(line, 't [error] boom err="bad"\nError: bad\n    at x\n');
  });
});

describe('configureLogging', () => {
  test('file handlers with their own level and formatter; console off', () => {
    const json = join(dir, 'h', 'json.log');
    const text = join(dir, 'h', 'text.log');
    configureLogging(
      logConfig({
        console: { enable: false },
        file: {
          j: { path: json, level: 'info', formatter: 'json' },
          t: { path: text, level: 'error', formatter: 'text' },
        },
      }),
    );
    logger.debug('not logged');
    logger.info({ k: 1 }, 'an info');
    logger.warn({ password: 'secret' }, 'a warning');
    logger.error('an error');
    const lines = readFileSync(json, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg]),
      [
        ['info', 'an info'],
        ['warning', 'a warning'],
        ['error', 'an error'],
      ],
    );
    assert.equal(lines[1]!.password, '******', 'passwords are redacted');
    assert.match(readFileSync(text, 'utf8'), /^\S+ \[error\] an error\n$/);
    closeLogging(logConfig({ console: { enable: false } }));
  });

  test('a file that cannot be opened is an error and the previous logger stays', () => {
    const path = join(dir, 'keep.log');
    configureLogging(logConfig({ console: { enable: false }, file: { k: { path } } }));
    const before = logger;
    assert.throws(() =>
      configureLogging(
        logConfig({ console: { enable: false }, file: { bad: { path: join(path, 'under-a-file.log') } } }),
      ),
    );
    assert.equal(logger, before);
    closeLogging(logConfig({ console: { enable: false } }));
  });

  test('runtime changes through ConfigService apply to the root logger', async () => {
    const first = join(dir, 'rt', 'first.log');
    const second = join(dir, 'rt', 'second.log');
    const loaded = loadConfig({
      env: { HERMOD_LOG: JSON.stringify({ console: { enable: false }, file: { main: { path: first } } }) },
      dataDir: dir,
    });
    assert.ok(loaded.ok);
    configureLogging(loaded.config.log);
    const service = new ConfigService(loaded.raw, loaded.config, undefined);
    const stop = watchLogConfig(service);
    logger.warn('to the first file');
    await service.update('log', {
      console: { enable: false },
      file: { main: { path: second, level: 'debug' } },
    });
    logger.debug('to the second file');
    assert.match(readFileSync(first, 'utf8'), /to the first file/);
    assert.doesNotMatch(readFileSync(first, 'utf8'), /second/);
    assert.match(readFileSync(second, 'utf8'), /\[debug\] to the second file/);
    await assert.rejects(
      service.update('log', { console: { enable: false }, file: { main: { path: join(first, 'x.log') } } }),
    );
    logger.warn('still the second file');
    assert.match(readFileSync(second, 'utf8'), /still the second file/);
    stop();
    closeLogging(service.config.log);
  });
});
