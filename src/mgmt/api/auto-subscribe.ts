/** `mqtt/auto_subscribe` (EMQX 5): the topics every MQTT client is subscribed to at connect. */
import { Type } from '@sinclair/typebox';
import type { Api, MgmtPlane } from '../types.js';
import { encodedSection, updateSection } from './configs.js';

type Section = { topics: unknown[] } & Record<string, unknown>;

export function autoSubscribeArea(app: Api, ctx: MgmtPlane): void {
  const tags = ['Auto Subscribe'];
  app.get('/mqtt/auto_subscribe', { schema: { tags, summary: 'Auto-subscribe topics' } }, async () => {
    return (encodedSection(ctx, 'auto_subscribe') as Section).topics;
  });
  app.put(
    '/mqtt/auto_subscribe',
    {
      schema: {
        tags,
        summary: 'Replace the auto-subscribe topics (the Redis source, if any, is kept)',
        body: Type.Array(Type.Object({}, { additionalProperties: true })),
      },
    },
    async (req) => {
      const current = encodedSection(ctx, 'auto_subscribe') as Section;
      return ((await updateSection(ctx, 'auto_subscribe', { ...current, topics: req.body })) as Section)
        .topics;
    },
  );
}
