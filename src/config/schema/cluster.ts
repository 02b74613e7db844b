/**
 * `cluster { ... }`: several nodes as one broker over NATS JetStream (docs/cluster.md). EMQX's names where
 * EMQX has the key (`cluster.name`); the bus settings live under `cluster.nats`. With no NATS server listed
 * a node is a single broker and loads no cluster code.
 */
import { Type } from '@sinclair/typebox';
import { Bool, Duration, Int, Section, Str } from './fields.js';

const NatsTlsSchema = Section(
  {
    enable: Bool(false, 'Connect to the NATS servers over TLS.'),
    cacertfile: Str('', 'CA certificates (PEM) that sign the NATS servers’ certificates.'),
    certfile: Str('', 'Client certificate (PEM), when the servers verify clients.'),
    keyfile: Str('', 'Private key of the client certificate (PEM).'),
    verify: Type.Union([Type.Literal('verify_peer'), Type.Literal('verify_none')], {
      default: 'verify_peer',
      description: 'verify_peer checks the server certificate against cacertfile (or the system CAs).',
    }),
    server_name_indication: Str('', 'Server name sent in TLS SNI and checked in the certificate.'),
  },
  'TLS to the NATS servers.',
);

export const ClusterSchema = Section(
  {
    name: Str(
      'hermodcluster',
      'Cluster name: nodes join the cluster of the same name on the same NATS servers.',
    ),
    // Every value EMQX accepts, so an EMQX config loads unchanged; none changes how Hermod nodes meet.
    discovery_strategy: Type.Union(
      ['nats', 'manual', 'static', 'dns', 'etcd', 'k8s', 'mcast'].map((v) => Type.Literal(v)),
      {
        default: 'nats',
        description:
          'Kept for EMQX configs: Hermod nodes find each other through the NATS servers, whatever this says.',
      },
    ),
    nats: Section(
      {
        servers: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description:
            'NATS server URLs (nats://host:port, tls://host:port). Empty: this node is a single broker.',
          'x-hermod': true,
        }),
        username: Str('', 'NATS user name.'),
        password: Str('', 'NATS password.'),
        token: Str('', 'NATS authentication token.'),
        creds_file: Str('', 'NATS credentials file (JWT + NKey seed).'),
        tls: NatsTlsSchema,
        replicas: Int(1, 'JetStream replicas of the cluster’s buckets and streams (3 across 3+ servers).', {
          minimum: 1,
          maximum: 5,
        }),
        connect_timeout: Duration('5s', {
          description: 'Time to reach a NATS server at start.',
          hermod: true,
        }),
        request_timeout: Duration('5s', {
          description: 'Time a node waits for another node or for JetStream to answer.',
          hermod: true,
        }),
      },
      'The NATS JetStream bus the nodes share.',
    ),
    heartbeat_interval: Duration('1s', {
      description: 'How often a node tells the others it is alive.',
      hermod: true,
    }),
    node_down_after: Duration('3s', {
      description: 'Silence after which the other nodes count a node as down and adopt its clients.',
      hermod: true,
    }),
  },
  'Clustering over NATS JetStream.',
);
