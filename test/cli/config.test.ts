/** Configuration from the environment and flags, as parsed by the settings table. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/cli/config.js';
import { REDACTED_PATHS } from '../../src/cli/logger.js';

describe('loadConfig', () => {
  it('applies the defaults', () => {
    expect(loadConfig([], {})).toEqual({
      PORT: 3000,
      HOST: '127.0.0.1',
      BAMBOO_DB: './data/bamboo.db',
      BAMBOO_AGENT: 'demo',
      BAMBOO_TOKEN_DELAY_MS: 20,
      BAMBOO_MAX_LIVE_ACTORS: 10_000,
      BAMBOO_RESUME_INTERRUPTED: false,
      BAMBOO_LEASE_MS: 10_000,
      BAMBOO_INSTANCE_ID: undefined,
      BAMBOO_DB_CONNECTIONS: 10,
      BAMBOO_INSPECT: false,
      BAMBOO_INSPECT_PORT: 5678,
      BAMBOO_API_KEYS: undefined,
      BAMBOO_ALLOWED_HOSTS: undefined,
      BAMBOO_CORS_ORIGINS: undefined,
      BAMBOO_RATE_LIMIT: undefined,
      BAMBOO_MAX_RUNS_PER_TENANT: undefined,
      BAMBOO_MAX_STREAMS_PER_TENANT: undefined,
      BAMBOO_ALLOW_UNAUTHENTICATED: false,
      BAMBOO_INSPECT_ALLOW_WITH_KEYS: false,
      BAMBOO_MAX_QUEUED: 20,
      BAMBOO_MAX_STREAMS: 5_000,
      BAMBOO_MAX_STREAMS_PER_SESSION: 2_000,
      BAMBOO_MAX_STREAMS_PER_CLIENT: 2_000,
      BAMBOO_SSE_BUFFER_BYTES: 64 * 1024 * 1024,
      BAMBOO_PAGE_BYTES: 4 * 1024 * 1024,
      BAMBOO_MAX_CONNECTIONS: 10_000,
      BAMBOO_MAX_CONNECTIONS_PER_CLIENT: 2_500,
      BAMBOO_MAX_LIVE_BYTES: 256 * 1024 * 1024,
      BAMBOO_QUOTA_SESSIONS: 0,
      BAMBOO_QUOTA_BYTES: 0,
      BAMBOO_RETENTION_DAYS: 0,
      BAMBOO_WEBHOOK_URL: undefined,
      BAMBOO_WEBHOOK_SECRET: undefined,
      BAMBOO_SHUTDOWN_GRACE_MS: 10_000,
      BAMBOO_LOG_LEVEL: 'info',
      BAMBOO_LOG_FORMAT: undefined,
      OPENAI_BASE_URL: undefined,
      OPENAI_API_KEY: undefined,
      BAMBOO_MODEL: undefined,
      BAMBOO_TEMPERATURE: undefined,
      BAMBOO_MAX_TOKENS: undefined,
      BAMBOO_MAX_TOOL_ROUNDS: undefined,
    });
  });

  it('reads the environment; a flag wins; an empty variable is unset', () => {
    const config = loadConfig(['--port', '8080', '--inspect', '--log-format', 'json'], {
      PORT: '9090',
      HOST: '0.0.0.0',
      BAMBOO_TOKEN_DELAY_MS: ' 5 ',
      BAMBOO_RESUME_INTERRUPTED: 'true',
      BAMBOO_INSPECT: '0',
      BAMBOO_DB: '',
    });
    expect(config).toMatchObject({ PORT: 8080, HOST: '0.0.0.0', BAMBOO_TOKEN_DELAY_MS: 5, BAMBOO_RESUME_INTERRUPTED: true, BAMBOO_INSPECT: true, BAMBOO_LOG_FORMAT: 'json', BAMBOO_DB: './data/bamboo.db' });
    expect(loadConfig(['--port=0'], {}).PORT).toBe(0);
  });

  it('says which setting is wrong and how', () => {
    expect(() => loadConfig([], { BAMBOO_MAX_LIVE_ACTORS: '0' })).toThrow(new ConfigError('BAMBOO_MAX_LIVE_ACTORS must be a whole number of at least 1 (got "0"); see bamboo-server --help'));
    expect(() => loadConfig([], { PORT: '-1' })).toThrow(/^PORT must be a whole number from 0 to 65535/);
    expect(() => loadConfig([], { PORT: '1.5' })).toThrow(ConfigError);
    expect(() => loadConfig([], { BAMBOO_INSPECT: 'yes' })).toThrow(/^BAMBOO_INSPECT must be 1 or 0/);
    expect(() => loadConfig(['--token-delay-ms', 'soon'], {})).toThrow(/^--token-delay-ms must be a whole number from 0 to 2147483647 \(got "soon"\)/);
    // A URL where a name is wanted, a name where an origin is wanted: refused, not left never to match.
    expect(() => loadConfig([], { BAMBOO_ALLOWED_HOSTS: 'https://api.example.com' })).toThrow(/^BAMBOO_ALLOWED_HOSTS must be host names, .*"https:\/\/api.example.com" is not/);
    expect(() => loadConfig([], { BAMBOO_CORS_ORIGINS: 'app.example.com' })).toThrow(/^BAMBOO_CORS_ORIGINS must be origins, .*"app.example.com" is not/);
    expect(loadConfig([], { BAMBOO_ALLOWED_HOSTS: 'api.example.com:8443, [::1]:3000', BAMBOO_CORS_ORIGINS: 'https://app.example.com/' })).toMatchObject({
      BAMBOO_ALLOWED_HOSTS: ['api.example.com:8443', '[::1]:3000'],
      BAMBOO_CORS_ORIGINS: ['https://app.example.com/'],
    });
    // Past what a timer can wait, Node would wait 1 ms instead: refused rather than renew a lease continuously.
    expect(() => loadConfig([], { BAMBOO_LEASE_MS: '7000000000' })).toThrow(/^BAMBOO_LEASE_MS must be a whole number from 100 to 2147483647/);
    expect(() => loadConfig([], { BAMBOO_SHUTDOWN_GRACE_MS: '3000000000' })).toThrow(/^BAMBOO_SHUTDOWN_GRACE_MS must be a whole number from 0 to 2147483647/);
    expect(() => loadConfig([], { BAMBOO_RETENTION_DAYS: '100000000000' })).toThrow(/^BAMBOO_RETENTION_DAYS must be a whole number from 0 to 36500/);
  });

  it('redacts every secret setting when the configuration is logged', () => {
    expect(REDACTED_PATHS).toEqual(
      expect.arrayContaining(['config.OPENAI_API_KEY', 'config.OPENAI_BASE_URL', 'config.BAMBOO_API_KEYS', 'config.BAMBOO_WEBHOOK_SECRET', 'req.headers.authorization']),
    );
  });

  it('reads API keys as tenant:key pairs and names a bad entry without echoing any key', () => {
    const key = 'k'.repeat(24);
    expect(loadConfig([], { BAMBOO_API_KEYS: `acme:${key}, beta:${key}x` }).BAMBOO_API_KEYS).toEqual([
      { tenant: 'acme', key },
      { tenant: 'beta', key: `${key}x` },
    ]);
    const short = () => loadConfig([], { BAMBOO_API_KEYS: `acme:${key},beta:secret-but-short` });
    expect(short).toThrow(/^BAMBOO_API_KEYS .*entry 2 \(tenant beta\): the key must have at least 24 characters/);
    expect(short).not.toThrow(/secret-but-short/);
    expect(() => loadConfig([], { BAMBOO_API_KEYS: key })).toThrow(/entry 1 must be tenant:key/);
    const twice = () => loadConfig([], { BAMBOO_API_KEYS: `acme:${key},beta:${key}` });
    expect(twice).toThrow(/^BAMBOO_API_KEYS .*entry 2 \(tenant beta\) repeats the key of entry 1/);
    expect(twice).not.toThrow(new RegExp(key));
  });

  it('reads lists: allowed hosts, CORS origins', () => {
    const config = loadConfig([], { BAMBOO_ALLOWED_HOSTS: 'api.example.com, *', BAMBOO_CORS_ORIGINS: 'https://app.example.com' });
    expect(config.BAMBOO_ALLOWED_HOSTS).toEqual(['api.example.com', '*']);
    expect(config.BAMBOO_CORS_ORIGINS).toEqual(['https://app.example.com']);
  });

  it('reads webhook URLs and the secret; names a URL that is not http(s), and never echoes a bad secret', () => {
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const config = loadConfig([], { BAMBOO_WEBHOOK_URL: 'https://hooks.example.com/a?token=x, http://127.0.0.1:8080/b', BAMBOO_WEBHOOK_SECRET: ` ${secret} ` });
    expect(config.BAMBOO_WEBHOOK_URL).toEqual(['https://hooks.example.com/a?token=x', 'http://127.0.0.1:8080/b']);
    expect(config.BAMBOO_WEBHOOK_SECRET).toBe(secret);
    expect(() => loadConfig([], { BAMBOO_WEBHOOK_URL: 'https://ok.example.com,ftp://files.example.com' })).toThrow(
      /^BAMBOO_WEBHOOK_URL must be http:\/\/ or https:\/\/ URLs, comma-separated; entry 2 is not; see/,
    );
    // Never echoed: a receiver's URL may hold a token.
    expect(() => loadConfig([], { BAMBOO_WEBHOOK_URL: 'hooks.example.com/in?token=s3cret' })).toThrow(/^BAMBOO_WEBHOOK_URL must be .*; entry 1 is not; see bamboo-server --help$/);
    for (const bad of ['whsec_tooshort', Buffer.alloc(32).toString('base64'), 'whsec_not base64 at all, but long enough to pass']) {
      const read = () => loadConfig([], { BAMBOO_WEBHOOK_SECRET: bad });
      expect(read).toThrow(/^BAMBOO_WEBHOOK_SECRET must be whsec_ followed by the base64 of 24 to 64 random bytes/);
      expect(read).not.toThrow(bad);
    }
  });
});
