/** fast-check arbitraries of typed resource values, with the JSON each type renders to on MQTT. */
import fc from 'fast-check';
import type { LwPath } from '../../../../src/gateway/lwm2m/content/path.js';
import type { TypedValue } from '../../../../src/gateway/lwm2m/content/typed.js';

/** A resource of the shipped definitions for each type (the path types the decoded value). */
const RESOURCES = {
  String: [3, 0, 0],
  Integer: [3, 0, 9],
  'Unsigned Integer': [1, 0, 1],
  Time: [3, 0, 13],
  Float: [6, 0, 0],
  Boolean: [1, 0, 6],
  Opaque: [6, 0, 4],
  Objlnk: [3, 0, 22, 0],
} as const;

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });

/** Values whose JSON form survives every codec: safe integers, doubles, valid base64, "a:b" links. */
export function typedValues(): fc.Arbitrary<TypedValue> {
  const of = <T extends keyof typeof RESOURCES>(type: T, value: fc.Arbitrary<string | number | boolean>) =>
    value.map((v): TypedValue => ({ path: RESOURCES[type] as LwPath, type, value: v }));
  return fc.oneof(
    of('String', fc.string({ maxLength: 30 })),
    of(
      'Integer',
      fc.oneof(
        fc.integer(),
        fc.maxSafeInteger(),
        int64.filter((n) => Number.isSafeInteger(Number(n))).map(Number),
      ),
    ),
    of('Unsigned Integer', fc.nat()),
    of('Time', fc.integer({ min: 0, max: 2 ** 40 })),
    // -0 is left out: JSON has no negative zero, so no JSON format could carry it.
    of(
      'Float',
      fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
    ),
    of('Boolean', fc.boolean()),
    of(
      'Opaque',
      fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('base64')),
    ),
    of(
      'Objlnk',
      fc
        .tuple(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }))
        .map(([a, b]) => `${a}:${b}`),
    ),
  );
}
