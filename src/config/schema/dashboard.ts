/** `dashboard { ... }` and `api_key { ... }`: the management API listener, its login and its API keys. */
import { Bind, Bool, Duration, Int, IntOrInfinity, Section, Str } from './fields.js';

function httpListenerFields(bind: string, enable: boolean) {
  return {
    enable: Bool(enable, 'Start this listener.'),
    bind: Bind(bind, {
      description: 'Address and port of the REST API ("0.0.0.0:18083" or a port); port 0 binds a free port.',
    }),
    max_connections: IntOrInfinity(512, { description: 'Most concurrent HTTP connections.' }),
    backlog: Int(1024, 'Length of the pending-accept queue.', { minimum: 1 }),
    send_timeout: Duration('10s', {
      description: 'Kept for compatibility.',
    }),
    num_acceptors: Int(4, 'Kept for compatibility (Node accepts on one thread).'),
    inet6: Bool(false, 'Kept for compatibility (the bind address decides the family).'),
    ipv6_v6only: Bool(false, 'Kept for compatibility.'),
    proxy_header: Bool(false, 'Kept for compatibility.'),
  };
}

export const DashboardSchema = Section(
  {
    listeners: Section(
      {
        http: Section(httpListenerFields('0.0.0.0:18083', true), 'The plain HTTP listener of the REST API.'),
        https: Section(
          {
            ...httpListenerFields('0.0.0.0:18084', false),
            ssl_options: Section(
              {
                certfile: Str('', 'PEM file of the server certificate chain.'),
                keyfile: Str('', 'PEM file of the server private key.'),
                cacertfile: Str('', 'PEM file of CA certificates (for client certificates).'),
                password: Str('', 'Passphrase of an encrypted key file.'),
              },
              'TLS options.',
            ),
          },
          'The HTTPS listener of the REST API.',
        ),
      },
      'REST API listeners.',
    ),
    default_username: Str('admin', 'The administrator created on first boot when no user exists.'),
    default_password: Str('public', 'Password of the administrator created on first boot.'),
    token_expired_time: Duration('60m', { description: 'Lifetime of a login (Bearer) token.' }),
    sample_interval: Duration('10s', {
      description:
        'How often the dashboard monitor samples connections, subscriptions and message counts (1s to 60s; a divisor of 60s keeps samples on round times).',
    }),
    cors: Bool(false, 'Answer CORS preflight requests and add Access-Control-Allow-Origin: *.'),
    swagger_support: Bool(
      true,
      'Serve the OpenAPI document at /api-docs/swagger.json and Swagger UI at /api-docs.',
    ),
    i18n_lang: Str('en', 'Kept for compatibility.'),
  },
  'The management REST API (dashboard listener).',
);

export const ApiKeySchema = Section(
  {
    bootstrap_file: Str(
      '',
      'File of API keys created at boot, one "key:secret[:role]" per line (relative to the working directory).',
    ),
  },
  'API keys for HTTP Basic authentication of the REST API.',
);
