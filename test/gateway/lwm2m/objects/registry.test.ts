/** Object definitions: the shipped XML for objects 0–7, xml_dir overrides, broken files named with their line. */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import {
  loadObjectRegistry,
  ObjectDefinitionError,
  parseObjectDefinitions,
  shippedObjectDir,
} from '../../../../src/gateway/lwm2m/objects/registry.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'hermod-lwm2m-xml-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function dir(name: string, files: Record<string, string>): string {
  const d = path.join(tmp, name);
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(d, file), text);
  return d;
}

const objectXml = (id: number, name: string, items: string) => `<?xml version="1.0" encoding="UTF-8"?>
<LWM2M>
  <Object ObjectType="MODefinition">
    <Name>${name}</Name>
    <ObjectID>${id}</ObjectID>
    <ObjectVersion>1.0</ObjectVersion>
    <MultipleInstances>Multiple</MultipleInstances>
    <Mandatory>Optional</Mandatory>
    <Resources>${items}
    </Resources>
  </Object>
</LWM2M>
`;
const item = (id: number, name: string, type: string, ops = 'R', multiple = 'Single') => `
      <Item ID="${id}"><Name>${name}</Name><Operations>${ops}</Operations>
        <MultipleInstances>${multiple}</MultipleInstances><Mandatory>Mandatory</Mandatory>
        <Type>${type}</Type><RangeEnumeration></RangeEnumeration><Units>Cel</Units></Item>`;

describe('LwM2M object registry', () => {
  it('ships objects 0-7 with the registry ids, names and types', () => {
    const reg = loadObjectRegistry();
    assert.deepEqual(
      [...reg.all()].map((o) => [o.id, o.name]).sort((a, b) => Number(a[0]) - Number(b[0])),
      [
        [0, 'LWM2M Security'],
        [1, 'LwM2M Server'],
        [2, 'LwM2M Access Control'],
        [3, 'Device'],
        [4, 'Connectivity Monitoring'],
        [5, 'Firmware Update'],
        [6, 'Location'],
        [7, 'Connectivity Statistics'],
      ],
    );
    const device = reg.get(3)!;
    assert.equal(device.multiple, false);
    assert.equal(device.mandatory, true);
    assert.deepEqual(reg.resource(3, 0), {
      id: 0,
      name: 'Manufacturer',
      operations: 'R',
      multiple: false,
      mandatory: false,
      type: 'String',
      description: "Manufacturer's name.",
    });
    assert.equal(reg.resource(3, 4)?.type, 'None');
    assert.equal(reg.resource(3, 4)?.operations, 'E');
    assert.equal(reg.resource(3, 13)?.type, 'Time');
    assert.equal(reg.resource(3, 6)?.multiple, true);
    assert.equal(reg.resource(3, 22)?.type, 'Objlnk');
    assert.equal(reg.resource(0, 3)?.type, 'Opaque');
    assert.equal(reg.resource(1, 1)?.type, 'Unsigned Integer');
    assert.equal(reg.resource(5, 4), undefined, 'resource 4 of Firmware Update is withdrawn');
    assert.equal(reg.resource(6, 0)?.type, 'Float');
    assert.equal(reg.resource(6, 0)?.units, 'lat');
    assert.equal(reg.resource(7, 6)?.mandatory, true);
    assert.equal(reg.get(9), undefined);
  });

  it('finds the shipped directory from the compiled module', () => {
    assert.match(shippedObjectDir(), /etc[/\\]lwm2m_xml$/);
  });

  it('finds the shipped directory from an installed package (package.json ships etc and dist/src)', async () => {
    // Laid out under the repository so the copy still resolves fast-xml-parser from its node_modules.
    const root = path.resolve(shippedObjectDir(), '..', '..');
    mkdirSync(path.join(root, '.tmp'), { recursive: true });
    const pkg = path.join(mkdtempSync(path.join(root, '.tmp', 'lwm2m-pkg-')), 'node_modules', 'hermod');
    try {
      cpSync(path.join(root, 'package.json'), path.join(pkg, 'package.json'));
      cpSync(path.join(root, 'etc', 'lwm2m_xml'), path.join(pkg, 'etc', 'lwm2m_xml'), { recursive: true });
      const compiled = path.join(root, 'dist', 'src', 'gateway', 'lwm2m');
      cpSync(compiled, path.join(pkg, 'dist', 'src', 'gateway', 'lwm2m'), { recursive: true });
      // The walk to shipped files is one module of its own at the top of dist/src.
      cpSync(
        path.join(root, 'dist', 'src', 'package-file.js'),
        path.join(pkg, 'dist', 'src', 'package-file.js'),
      );
      const mod = (await import(
        pathToFileURL(path.join(pkg, 'dist', 'src', 'gateway', 'lwm2m', 'objects', 'registry.js')).href
      )) as typeof import('../../../../src/gateway/lwm2m/objects/registry.js');
      assert.equal(mod.shippedObjectDir(), path.join(pkg, 'etc', 'lwm2m_xml'));
      assert.equal(mod.loadObjectRegistry().get(3)?.name, 'Device');
    } finally {
      rmSync(path.dirname(path.dirname(pkg)), { recursive: true, force: true });
    }
  });

  it('adds objects from xml_dir and overrides shipped ones by id', () => {
    const xmlDir = dir('override', {
      'temp.xml': objectXml(3303, 'Temperature', item(5700, 'Sensor Value', 'Float')),
      'device.XML': objectXml(
        3,
        'My Device',
        item(0, 'Maker', 'String') + item(9999, 'Vendor Blob', 'opaque'),
      ),
      'notes.txt': 'not a definition',
    });
    const reg = loadObjectRegistry({ xmlDir });
    assert.equal(reg.get(3303)?.name, 'Temperature');
    assert.equal(reg.resource(3303, 5700)?.type, 'Float');
    assert.equal(reg.get(3)?.name, 'My Device');
    assert.equal(reg.resource(3, 13), undefined, 'the override replaces the whole object');
    assert.equal(reg.resource(3, 9999)?.type, 'Opaque', 'type names are matched case-insensitively');
    assert.equal(reg.get(5)?.name, 'Firmware Update', 'other shipped objects stay');
  });

  it('refuses a file that does not parse, naming the file and the line', () => {
    const text = objectXml(3303, 'Temperature', item(5700, 'Sensor Value', 'Float')).replace(
      '<Units>Cel</Units></Item>',
      '<Units>Cel</Unit></Item>',
    );
    const xmlDir = dir('broken', { 'good.xml': objectXml(3304, 'Humidity', ''), 'bad.xml': text });
    const err = catchError(() => loadObjectRegistry({ xmlDir }));
    assert.ok(err instanceof ObjectDefinitionError);
    assert.equal(err.file, path.join(xmlDir, 'bad.xml'));
    assert.equal(err.line, 12);
    assert.match(err.message, /bad\.xml:12: /);
  });

  it('refuses definitions with a bad object id, resource id or type', () => {
    const cases: Array<[string, RegExp, number]> = [
      [objectXml(70000, 'Big', ''), /ObjectID "70000"/, 5],
      [objectXml(3303, 'T', item(5700, 'V', 'Decimal')), /unknown type "Decimal"/, 10],
      [objectXml(3303, 'T', item(-1, 'V', 'Float')), /resource ID of object 3303 "-1"/, 10],
      ['<LWM2M></LWM2M>', /no <Object> element/, 1],
      ['<Other/>', /no <LWM2M> root/, 1],
    ];
    for (const [text, message, line] of cases) {
      const xmlDir = dir('invalid', { 'x.xml': text });
      const err = catchError(() => loadObjectRegistry({ xmlDir }));
      assert.ok(err instanceof ObjectDefinitionError, String(err));
      assert.match(err.message, message);
      assert.equal(err.line, line, err.message);
    }
  });

  it('refuses an xml_dir that does not exist', () => {
    const err = catchError(() => loadObjectRegistry({ xmlDir: path.join(tmp, 'missing') }));
    assert.ok(err instanceof ObjectDefinitionError);
    assert.match(err.message, /cannot read the definition directory/);
  });
});

describe('LwM2M object definition parser: fuzz', () => {
  const valid = objectXml(
    3303,
    'Temperature',
    item(5700, 'Sensor Value', 'Float') + item(5701, 'Units', 'String'),
  );
  const only = (text: string) => {
    try {
      parseObjectDefinitions(text, 'fuzz.xml');
    } catch (err) {
      if (!(err instanceof ObjectDefinitionError))
        assert.fail(`expected ObjectDefinitionError, got ${String(err)}`);
      assert.ok(err.line >= 0);
    }
    return true;
  };

  it('arbitrary text and cut or spliced definitions only ever raise ObjectDefinitionError', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), only), { numRuns: 1000 });
    fc.assert(
      fc.property(fc.nat(valid.length), fc.nat(valid.length), fc.string({ maxLength: 12 }), (a, b, insert) =>
        only(valid.slice(0, Math.min(a, b)) + insert + valid.slice(Math.max(a, b))),
      ),
      { numRuns: 1000 },
    );
  });
});

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  assert.fail('expected an error');
}
