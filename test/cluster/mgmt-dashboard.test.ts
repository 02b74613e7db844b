/**
 * The dashboard's Overview of a two-node cluster in a real browser: both nodes with their connections, then
 * one node cut off from the bus shown as stopped, without a reload.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectClient, end } from '../helpers/clients.js';
import { clusterConfig, eventually } from '../helpers/cluster.js';
import { type NatsServer, startNats } from '../helpers/servers/nats.js';
import { type Dashboard, startDashboard, WAIT } from '../web/browser.js';

const N1 = 'hermod-1@127.0.0.1';
const N2 = 'hermod-2@127.0.0.1';

describe('dashboard overview of a cluster', () => {
  let nats: NatsServer;
  let d: Dashboard;
  let two: TestBroker;
  let client: MqttClient;

  before(async () => {
    nats = await startNats();
    d = await startDashboard({ config: clusterConfig(nats.url, N1) });
    two = await startBroker({ config: clusterConfig(nats.url, N2) });
    await eventually('node 1 sees node 2', () => d.broker.node.cluster?.membership.isAlive(N2) === true);
    client = await connectClient(two.port, { clientId: 'on-two' });
    await d.login();
  });
  after(async () => {
    await end(client, true);
    await d?.stop();
    await two?.stop();
    await nats?.stop();
  });

  it('shows every node with its connections, and a node that went down as stopped', async () => {
    await d.open('/overview');
    const summary = d.page.locator('[data-test=cluster-summary]');
    await summary.waitFor();
    assert.equal((await summary.innerText()).trim(), 'Cluster test: 2 of 2 nodes running');
    const card2 = d.page.locator(`[data-test="node-${N2}"]`);
    assert.match(await card2.innerText(), /running/);
    assert.match(await card2.innerText(), /Connections\s*1 \(Live connections: 1\)/);
    await d.screenshots('overview-cluster');
    // Node 2 loses the bus without leaving, as in a crash: the page polls /nodes and marks it stopped.
    await end(client, true);
    const bus = two.node.cluster!.bus;
    await bus.data.close();
    await bus.control.close();
    await d.page.waitForFunction(
      () =>
        document.querySelector('[data-test=cluster-summary]')?.textContent?.trim() ===
        'Cluster test: 1 of 2 nodes running',
      undefined,
      { timeout: WAIT },
    );
    assert.match(await card2.innerText(), /stopped/);
    d.assertNoConsoleErrors();
  });
});
